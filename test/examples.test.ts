// Examples can never rot: the README's quick start is a copy of examples/quickstart.ts, and it runs for real.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBackend, RedisNodeStore } from 'leasehold';
import { auditLeases, auditWrites } from '../examples/demo/audit.js';
import type { Report } from '../examples/demo/protocol.js';
import type { Summary } from '../examples/demo/summary.js';
import { Timeline } from '../examples/demo/timeline.js';
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
  it('the README quick start ("Locks on their own") is examples/quickstart.ts, verbatim', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const example = readFileSync(resolve(root, 'examples/quickstart.ts'), 'utf8');
    const block = /## Locks on their own\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
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

  it('the demo refuses a bad option with exit code 2 and says why', async () => {
    for (const [args, message] of [
      [['--ttl', 'soon'], '--ttl must be a whole number of ms from 500 to 60000; got "soon"'],
      [['--fault', 'melt'], '--fault must be kill, pause or graceful; got "melt"'],
      [['--conductors', '1'], '--conductors must be a whole number from 2 to 8'],
      [['--nodes'], "Option '--nodes <value>' argument missing"],
      [['--colour'], "Unknown option '--colour'"],
    ] as const) {
      const failed = await runExample('examples/demo.ts', {}, [...args]).catch((error: unknown) => error);
      expect(failed, args.join(' ')).toMatchObject({ code: 2 });
      expect((failed as { stderr: string }).stderr).toContain(message);
      expect((failed as { stderr: string }).stderr).toContain('usage: npm run demo');
    }
  });
});

// `npm run demo` in a short mode (4 nodes, TTL 1 s: about 10 s a run) against the harness's standalone server, so
// the suite never starts or touches any other Redis. Each run checks its own invariants and exits non-zero when
// one fails; these tests check the exit code, the numbers it prints, its JSON summary and its HTML report.
describe('npm run demo', () => {
  const short = ['--ttl', '1000', '--nodes', '4'];
  const redisUrl = (): string => `redis://${standalone().host}:${standalone().port}`;

  /** Runs the demo with --json; resolves to its summary (and fails the test on a non-zero exit). */
  async function demoJson(args: string[]): Promise<Summary> {
    const stdout = await runExample('examples/demo.ts', { REDIS_URL: redisUrl() }, [...short, ...args, '--json']);
    return JSON.parse(stdout) as Summary;
  }

  /** The demo's keys left on the shared server: it must remove its prefix when it uses REDIS_URL. */
  async function demoKeysLeft(): Promise<string[]> {
    const redis = new Redis(redisUrl());
    try {
      return [...(await redis.keys('leasehold-demo-*')), ...(await redis.keys('{leasehold-demo-*'))];
    } finally {
      redis.disconnect();
    }
  }

  it("the demo's checks catch what they claim to: two holders overlapping, a stale write accepted or refused", () => {
    const from = 'deploying' as const;
    const timeline = (releasedAt: number): Timeline => {
      const t = new Timeline(0);
      const at = (conductor: string, wall: number) => ({ conductor, wall, mono: 0 });
      const reports: Report[] = [
        { ...at('c1', 1000), type: 'lease-acquired', resource: 'node:n1', owner: 'c1', fence: 10, acquiredAt: 1000, validUntil: 2000, previous: null },
        { ...at('c1', releasedAt), type: 'lease-ended', resource: 'node:n1', fence: 10, how: 'released', reason: null },
        { ...at('c2', 1500), type: 'lease-acquired', resource: 'node:n1', owner: 'c2', fence: 11, acquiredAt: 1500, validUntil: 2500, previous: null },
        { ...at('c2', 1600), type: 'write', nodeId: 'n1', kind: 'task', fence: 11, from, to: 'wait call-back', outcome: 'ok', storedFence: null, sentAt: 1590, answeredAt: 1600, error: null },
        { ...at('c1', 1710), type: 'write', nodeId: 'n1', kind: 'after-loss', fence: 10, from, to: 'active', outcome: 'stale-fence', storedFence: 11, sentAt: 1700, answeredAt: 1710, error: 'STALE_FENCE' },
        { ...at('c1', 1810), type: 'write', nodeId: 'n1', kind: 'after-loss', fence: 10, from, to: 'active', outcome: 'ok', storedFence: null, sentAt: 1800, answeredAt: 1810, error: null },
      ];
      for (const report of reports) t.ingest(report);
      return t;
    };
    const overlapping = auditLeases(timeline(1800), 1);
    expect(overlapping.doubleHolds).toEqual([{ resource: 'node:n1', first: { owner: 'c1', fence: 10 }, second: { owner: 'c2', fence: 11 }, overlapMs: 300 }]);
    expect(auditLeases(timeline(1400), 1).doubleHolds).toEqual([]);
    const writes = auditWrites(timeline(1400));
    expect(writes).toMatchObject({ staleAttempted: 2, staleRefused: 1, afterLoss: 2 });
    expect(writes.staleAccepted.map((w) => w.sentAt)).toEqual([1800]);
  });

  it('kill: as the README runs it, SIGKILLs a conductor mid-operation and its nodes are recovered within about a TTL', async () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    expect(/## Set up\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1]).toContain('npm ci && npm run demo');
    const { stdout: out } = await run('npm', ['run', '--silent', 'demo', '--', ...short, '--fault', 'kill'], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redisUrl() },
      timeout: 30_000,
    });
    expect(out).toMatch(/SIGKILL conductor-\d \(pid \d+\), holding node-\d\d/);
    const needed = Number(/recoveries needed \/ done\s+(\d+) \/ (\d+)/.exec(out)?.[1]);
    expect(needed).toBeGreaterThan(0);
    expect(out).toMatch(new RegExp(`recoveries needed / done\\s+${needed} / ${needed} \\(found by: [^)]+\\), duplicates 0`));
    const [, min, p50, max] = /kill -> recovery\s+min (\d+\.\d\d) s · p50 (\d+\.\d\d) s · max (\d+\.\d\d) s \(TTL 1\.00 s/.exec(out) ?? [];
    expect(Number(min)).toBeLessThanOrEqual(Number(p50));
    expect(Number(p50)).toBeLessThanOrEqual(Number(max));
    expect(Number(max)).toBeLessThan(1 + 0.5 + 1); // TTL + a sweep period (expiry events make it about the TTL) + slack
    expect(out).toMatch(/leases left \(must be 0\)\s+0 live, 0 orphaned node leases/);
    expect(out).toMatch(/double holds seen \(must be 0\)\s+0 \([1-9]\d* lease spans on \d+ resources compared/);
    expect(out).toMatch(/stale writes\s+attempted \d+ · rejected by the fence \d+ · accepted 0 \(must be 0\)/);
    expect(out).toMatch(/nodes per final state\s+\w/);
    expect(out).toMatch(/invariants\s+all held/);

    const reportPath = /report\s+(\S+\.html)/.exec(out)?.[1];
    const html = readFileSync(reportPath!, 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/(src|href)="https?:/); // self-contained
    expect(html.match(/<g class="lane" data-node="node-\d\d">/g)).toHaveLength(4);
    expect(html).toContain('<g class="fault" data-kind="kill">');
    expect(html.match(/class="recovery"/g)?.length).toBeGreaterThanOrEqual(needed);
    expect(await demoKeysLeft()).toEqual([]);
  });

  it('pause: a conductor SIGSTOPped past its TTL resumes and its writes are refused by the fence', async () => {
    const summary = await demoJson(['--fault', 'pause', '--seed', '7']);
    expect(summary.ok, summary.failures.join('; ')).toBe(true);
    expect(summary.fault?.kind).toBe('pause');
    expect(summary.fault!.resumedAtMs! - summary.fault!.atMs).toBeGreaterThanOrEqual(1_000); // past the TTL
    expect(summary.recoveries.recovered).toBe(summary.recoveries.needed);
    expect(summary.staleWrites.attempted).toBeGreaterThan(0);
    expect(summary.staleWrites.rejected).toBe(summary.staleWrites.attempted);
    expect(summary.staleWrites.accepted).toBe(0);
    expect(summary.writes.refusedStaleFence).toBeGreaterThan(0);
    expect(summary).toMatchObject({ doubleHolds: 0, leasesLeft: 0, nodeOrphansLeft: 0, stuckNodes: [] });
    const html = readFileSync(summary.reportPath, 'utf8');
    expect(html).toContain('<g class="fault" data-kind="pause">');
    expect(html).toContain('<g class="fault" data-kind="resume">');
    expect(html).toContain('class="stale-write"');
    expect(await demoKeysLeft()).toEqual([]);
  });

  it('graceful: a conductor stopped cleanly leaves nothing to recover, and --json is the whole of stdout', async () => {
    const summary = await demoJson(['--fault', 'graceful', '--conductors', '2']);
    expect(summary.ok, summary.failures.join('; ')).toBe(true);
    expect(summary.options).toEqual({ conductors: 2, nodes: 4, ttlMs: 1000, fault: 'graceful', seed: 1 });
    expect(summary.fault?.kind).toBe('graceful');
    expect(summary.recoveries).toMatchObject({ needed: 0, recovered: 0, duplicates: 0, fromFaultMs: null });
    expect(summary.deadConductorOrphans).toEqual([]);
    expect(summary).toMatchObject({ doubleHolds: 0, leasesLeft: 0, nodeOrphansLeft: 0, staleWrites: { attempted: 0, accepted: 0 } });
    expect(Object.values(summary.finalStates).reduce((a, b) => a + b, 0)).toBe(4);
    expect(summary.operations.done).toBeGreaterThan(0);
    const html = readFileSync(summary.reportPath, 'utf8');
    expect(html).toContain('<g class="fault" data-kind="stop">');
    expect(html.match(/<g class="lane" /g)).toHaveLength(4);
  });
});
