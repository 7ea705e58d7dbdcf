// Examples can never rot: the README's quick start is a copy of examples/quickstart.ts, and it runs for real.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBackend, RedisNodeStore } from 'leasehold';
import { standalone } from './harness/env.js';

const root = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/** Runs a TypeScript example as users' code runs: its own process, the package imported by name. */
async function runExample(file: string, env: Record<string, string>, args: string[] = []): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', './tools/lua-text.mjs', file, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  return stdout;
}

describe('examples', () => {
  it('the README quick start is examples/quickstart.ts, verbatim', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const example = readFileSync(resolve(root, 'examples/quickstart.ts'), 'utf8');
    const block = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(example);
  });

  it('the README conductor example is examples/conductor.ts, verbatim, and it runs twice against a real Redis', async () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const example = readFileSync(resolve(root, 'examples/conductor.ts'), 'utf8');
    expect(/## A conductor\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1]).toBe(example);
    const { host, port } = standalone();
    for (let run = 0; run < 2; run++) {
      const out = await runExample('examples/conductor.ts', { REDIS_URL: `redis://${host}:${port}` });
      expect(out).toMatch(/node-1 is active, written with fence \d+/);
    }
  });

  it('the README recovery example is examples/recovery.ts, verbatim, and it fails a dead holder\'s node', async () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const example = readFileSync(resolve(root, 'examples/recovery.ts'), 'utf8');
    expect(/## Recovery\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1]).toBe(example);
    const { host, port } = standalone();
    const prefix = `example-recovery-${process.pid}`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './tools/lua-text.mjs', 'examples/recovery.ts'], {
      cwd: root,
      env: { ...process.env, REDIS_URL: `redis://${host}:${port}`, PREFIX: prefix },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      while (!out.includes('recovery running')) await new Promise((r) => setTimeout(r, 50));
      const redis = new Redis({ host, port, lazyConnect: true });
      const nodes = new RedisNodeStore(redis, { prefix });
      await nodes.create({ id: 'node-9', provisionState: 'available' });
      const taken = await new RedisBackend(redis, { prefix }).acquire({ resource: 'node:node-9', token: 'tok', owner: 'conductor-x', purpose: 'deploy', ttlMs: 300 });
      if (!taken.acquired) throw new Error('not acquired');
      await nodes.transition('node-9', { from: ['available'], to: 'deploying', fence: taken.fence });
      const until = Date.now() + 10_000;
      while (!out.includes('node-9: deploying -> deploy failed (held by conductor-x') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/node-9: deploying -> deploy failed \(held by conductor-x, \d+ ms after its lease expired\)/);
      redis.disconnect();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('examples/quickstart.ts runs against a real Redis', async () => {
    const { host, port } = standalone();
    const out = await runExample('examples/quickstart.ts', { REDIS_URL: `redis://${host}:${port}` });
    expect(out).toMatch(/conductor-a holds node-1 with fence \d+/);
    expect(out).toContain('conductor-b refused: held by conductor-a');
  });

  it('the demo kills a conductor, finds its orphans within the TTL, and holds its invariants', async () => {
    const { host, port } = standalone();
    const out = await runExample('examples/demo.ts', { REDIS_URL: `redis://${host}:${port}` }, ['--ttl', '1000', '--nodes', '3']);
    expect(out).toContain('SIGKILL conductor-a');
    expect(out).toContain("'3 / 3'");
    expect(out).toContain('all invariants held');
  });

  it('the demo refuses a bad option with exit code 2 and says why', async () => {
    const failed = await runExample('examples/demo.ts', {}, ['--ttl', 'soon']).catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('--ttl must be a whole number');
  });
});
