import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    {
      // Same contract as tsup's `text` loader: a .lua import is the file's text.
      name: 'lua-as-text',
      transform(_code, id) {
        if (!id.endsWith('.lua')) return null;
        return { code: `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`, map: null };
      },
    },
  ],
  resolve: {
    // Examples import the package by name, as users do; in tests that name means the sources. An array, tried in
    // order: 'leasehold' also matches 'leasehold/…', so the subpath comes first.
    alias: [
      { find: 'leasehold/postgres', replacement: fileURLToPath(new URL('./src/postgres.ts', import.meta.url)) },
      { find: 'leasehold', replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
