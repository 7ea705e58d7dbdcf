// Lua scripts are imported as text: tsup's `text` loader at build time, a small vitest plugin in tests.
declare module '*.lua' {
  const source: string;
  export default source;
}
