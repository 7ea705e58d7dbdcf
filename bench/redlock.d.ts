// redlock 5.0.0-beta.2 ships types (dist/index.d.ts), but its package.json `exports` has no `types` condition, so
// TypeScript (NodeNext) cannot find them for `import Redlock from 'redlock'`. This points it at them.
declare module 'redlock' {
  // An ambient module cannot `import` a relative path (TS2439); an import() type is the only way to reach the file.
  // eslint-disable-next-line @typescript-eslint/consistent-type-imports
  type RedlockClass = typeof import('../node_modules/redlock/dist/index.js').default;
  const Redlock: RedlockClass;
  type Redlock = InstanceType<RedlockClass>;
  export default Redlock;
}
