import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Lua scripts stay in their own .lua files in the source tree and are inlined as strings at build time.
  loader: { '.lua': 'text' },
});
