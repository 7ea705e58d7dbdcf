// The published shape: `npm pack` holds dist only, both ESM and CommonJS consumers load it by name, and its
// `leasehold` bin runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standalone, uniquePrefix } from './harness/env.js';
import { closedPort } from './support/ports.js';

const root = resolve(import.meta.dirname, '..');
let dir: string;
/** A consumer without pg installed. Not inside `dir`: node would find `dir`'s pg by walking up. */
let noPgDir: string;

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it).');
  }
  dir = mkdtempSync(join(tmpdir(), 'leasehold-consumer-'));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'leasehold'), { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, tarball), '-C', join(modules, 'leasehold'), '--strip-components=1']);
  // A second consumer, the same package without pg installed: users without Postgres.
  noPgDir = mkdtempSync(join(tmpdir(), 'leasehold-consumer-no-pg-'));
  const noPg = join(noPgDir, 'node_modules');
  mkdirSync(noPg, { recursive: true });
  cpSync(join(modules, 'leasehold'), join(noPg, 'leasehold'), { recursive: true });
  for (const dep of ['ioredis', 'eventemitter3']) {
    symlinkSync(join(root, 'node_modules', dep), join(modules, dep));
    symlinkSync(join(root, 'node_modules', dep), join(noPg, dep));
  }
  symlinkSync(join(root, 'node_modules', 'pg'), join(modules, 'pg'));
  for (const file of ['consumer.mjs', 'consumer.cjs']) cpSync(join(root, 'test', 'fixtures', file), join(dir, file));
}, 60_000);

/** The files an entry loads from dist: itself and, transitively, the chunks it imports or requires. */
function entryFiles(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(root, 'dist', file), 'utf8');
    for (const m of text.matchAll(/(?:from\s*|require\()\s*["'](\.\/[^"']+)["']/g)) visit(m[1]!.slice(2));
  }
  visit(entry);
  return [...seen];
}

/** Whether a dist file imports or requires pg (or one of pg's own packages). */
const loadsPg = (file: string): boolean => /(?:from\s*|import\(\s*|require\(\s*)["']pg(?:-[a-z]+)?(?:\/[^"']*)?["']/.test(readFileSync(join(root, 'dist', file), 'utf8'));

afterAll(() => {
  for (const made of [dir, noPgDir]) if (made) rmSync(made, { recursive: true, force: true });
});

describe('published package', () => {
  it('ships dist and package.json only', () => {
    const files = readdirSync(join(dir, 'node_modules', 'leasehold')).sort();
    expect(files).toEqual(expect.arrayContaining(['dist', 'package.json']));
    expect(files.filter((f) => !['dist', 'package.json', 'README.md', 'LICENSE'].includes(f))).toEqual([]);
  });

  it.each(['consumer.mjs', 'consumer.cjs'])('works for %s, leasehold/postgres included', async (file) => {
    const { host, port } = standalone();
    const out = execFileSync(process.execPath, [file], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        REDIS_URL: `redis://${host}:${port}`,
        PREFIX: uniquePrefix('consumer'),
        PG_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`,
      },
      timeout: 30_000,
    });
    const result = JSON.parse(out.trim()) as {
      format: string;
      fence: number;
      refused: boolean;
      postgres: { pgLoadedByMainEntry?: boolean; migrate: string; unknownOption: boolean; invalidName: boolean; backendError: boolean };
    };
    expect(result.format).toBe(file.endsWith('.mjs') ? 'esm' : 'cjs');
    expect(result.fence).toBeGreaterThan(0);
    expect(result.refused).toBe(true);
    // The subpath's errors are the main entry's classes (shared chunks, not copies), in both formats.
    expect(result.postgres).toMatchObject({ migrate: 'function', unknownOption: true, invalidName: true, backendError: true });
    if (file.endsWith('.cjs')) expect(result.postgres.pgLoadedByMainEntry).toBe(false);
  });

  it('keeps pg out of the main entry: only leasehold/postgres mentions it, and as types only', () => {
    for (const entry of ['index.js', 'index.cjs']) {
      const files = entryFiles(entry);
      expect(files.length).toBeGreaterThan(0);
      expect(files.filter(loadsPg), `${entry} loads ${files.join(', ')}`).toEqual([]);
    }
    for (const types of ['index.d.ts', 'index.d.cts']) expect(readFileSync(join(root, 'dist', types), 'utf8')).not.toMatch(/["']pg["']/);
    // The Postgres entry takes the application's Pool: it imports pg's types, never pg itself.
    for (const types of ['postgres.d.ts', 'postgres.d.cts']) expect(readFileSync(join(root, 'dist', types), 'utf8')).toMatch(/from ["']pg["']/);
    for (const entry of ['postgres.js', 'postgres.cjs']) expect(entryFiles(entry).filter(loadsPg)).toEqual([]);
  });

  it('ships the leasehold bin: --help exits 0, status runs against Redis', () => {
    const pkgDir = join(dir, 'node_modules', 'leasehold');
    const { bin } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(Object.keys(bin)).toEqual(['leasehold']);
    const cli = join(pkgDir, bin.leasehold!);
    expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    // Run as npm links it: the file itself, through its hashbang (npm pack keeps it executable).
    const env = { ...process.env, REDIS_URL: undefined };
    const help = spawnSync(cli, ['--help'], { cwd: dir, encoding: 'utf8', env, timeout: 30_000 });
    expect(help.stderr).toBe('');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('leasehold recover <node...>');
    const { host, port } = standalone();
    const prefix = uniquePrefix('bin');
    const status = spawnSync(cli, ['status', '--json', '--redis', `redis://${host}:${port}`, '--prefix', prefix], { cwd: dir, encoding: 'utf8', env, timeout: 30_000 });
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ prefix, conductors: [], leases: [], orphans: [], audit: [] });
  });

  it('says clearly that --store postgres needs pg where pg is not installed (exit 2)', () => {
    const { host, port } = standalone();
    const run = spawnSync(
      process.execPath,
      [join(noPgDir, 'node_modules', 'leasehold', 'dist', 'cli.js'), 'recover', 'n1', '--redis', `redis://${host}:${port}`, '--prefix', uniquePrefix('bin'), '--store', 'postgres', '--pg', 'postgres://u:s3cret@127.0.0.1:1/db'],
      { cwd: noPgDir, encoding: 'utf8', env: { ...process.env, REDIS_URL: undefined }, timeout: 30_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--store postgres needs the "pg" package, which is not installed here: npm install pg');
    expect(run.stdout + run.stderr).not.toContain('s3cret');
  });

  it.each([
    ['esm', ['--input-type=module', '-e', "await import('leasehold'); await import('leasehold/postgres'); await import('pg').catch((e) => console.log(e.code));"]],
    ['cjs', ['-e', "require('leasehold'); require('leasehold/postgres'); try { require('pg') } catch (e) { console.log(e.code) }"]],
  ])('loads both entries (%s) where pg is not installed', (_format, args) => {
    const out = execFileSync(process.execPath, args, { cwd: noPgDir, encoding: 'utf8', timeout: 30_000 });
    // pg really is missing there, and yet nothing failed to load.
    expect(out.trim()).toMatch(/^(ERR_MODULE_NOT_FOUND|MODULE_NOT_FOUND)$/);
  });
});
