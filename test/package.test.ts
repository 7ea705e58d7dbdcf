// The published shape: `npm pack` holds dist only, and both ESM and CommonJS consumers load it by name.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standalone, uniquePrefix } from './harness/env.js';

const root = resolve(import.meta.dirname, '..');
let dir: string;

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it).');
  }
  dir = mkdtempSync(join(tmpdir(), 'leasehold-consumer-'));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'leasehold'), { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, tarball), '-C', join(modules, 'leasehold'), '--strip-components=1']);
  for (const dep of ['ioredis', 'eventemitter3']) symlinkSync(join(root, 'node_modules', dep), join(modules, dep));
  for (const file of ['consumer.mjs', 'consumer.cjs']) cpSync(join(root, 'test', 'fixtures', file), join(dir, file));
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('published package', () => {
  it('ships dist and package.json only', () => {
    const files = readdirSync(join(dir, 'node_modules', 'leasehold')).sort();
    expect(files).toEqual(expect.arrayContaining(['dist', 'package.json']));
    expect(files.filter((f) => !['dist', 'package.json', 'README.md', 'LICENSE'].includes(f))).toEqual([]);
  });

  it.each(['consumer.mjs', 'consumer.cjs'])('works for %s', (file) => {
    const { host, port } = standalone();
    const out = execFileSync(process.execPath, [file], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, REDIS_URL: `redis://${host}:${port}`, PREFIX: uniquePrefix('consumer') },
      timeout: 30_000,
    });
    const result = JSON.parse(out.trim()) as { format: string; fence: number; refused: boolean };
    expect(result.format).toBe(file.endsWith('.mjs') ? 'esm' : 'cjs');
    expect(result.fence).toBeGreaterThan(0);
    expect(result.refused).toBe(true);
  });
});
