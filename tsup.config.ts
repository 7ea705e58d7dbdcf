import { defineConfig } from 'tsup';

export default defineConfig({
  // leasehold/postgres is an entry of its own, so `import 'leasehold'` never reaches the Postgres store. `cli` is the
  // `leasehold` bin (package.json "bin" runs dist/cli.js); its `#!/usr/bin/env node` is the first line of main.ts,
  // which esbuild keeps (tsup's `banner` would put it on every output).
  entry: { index: 'src/index.ts', postgres: 'src/postgres.ts', cli: 'src/recovery/cli/main.ts' },
  format: ['esm', 'cjs'],
  // Code the entries share (the error classes above all) goes to shared chunks, in CommonJS too (tsup splits only
  // ESM by default): a NodeExistsError thrown by leasehold/postgres must be the NodeExistsError of leasehold.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Lua scripts stay in their own .lua files in the source tree and are inlined as strings at build time.
  loader: { '.lua': 'text' },
});
