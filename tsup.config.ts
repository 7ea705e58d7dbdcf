import { defineConfig } from 'tsup';

export default defineConfig({
  // leasehold/postgres is an entry of its own, so `import 'leasehold'` never reaches the Postgres store.
  entry: { index: 'src/index.ts', postgres: 'src/postgres.ts' },
  format: ['esm', 'cjs'],
  // Code both entries use (the error classes above all) goes to shared chunks, in CommonJS too (tsup splits only
  // ESM by default): a NodeExistsError thrown by leasehold/postgres must be the NodeExistsError of leasehold.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Lua scripts stay in their own .lua files in the source tree and are inlined as strings at build time.
  loader: { '.lua': 'text' },
});
