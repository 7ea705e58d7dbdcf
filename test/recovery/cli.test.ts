// The `leasehold` CLI as operators run it: a real child process (`node --import tsx ... src/recovery/cli/main.ts`)
// against the harness's private Redis, next to a real Conductor in this process. Checks what it prints (text and
// --json), its exit codes 0/2/3/4/5/6, that a password in --redis is never printed, and that `watch` follows
// recovery events until SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Conductor,
  LockManager,
  RecoveryManager,
  RedisBackend,
  RedisConductorRegistry,
  RedisEventLog,
  RedisNodeStore,
  StaleFenceError,
  nodeResource,
  type NodeTask,
  type ProvisionStateValue,
} from 'leasehold';
import { PostgresNodeStore, migrate } from 'leasehold/postgres';
import { standalone, standaloneClient, uniquePrefix } from '../harness/env.js';
import { PG_REQUIRED, PG_URL, probePostgres, redact, warnPostgresSkipped } from '../support/postgres.js';
import { sleep } from '../support/wait.js';
import { closedPort } from '../support/ports.js';

const root = resolve(import.meta.dirname, '../..');
const pgUnreachable = await probePostgres();
const withPostgres = pgUnreachable === null || PG_REQUIRED; // required and unreachable: its test fails, loudly
if (!withPostgres) warnPostgresSkipped('the `leasehold recover --store postgres` test in test/recovery/cli.test.ts', pgUnreachable ?? '');
const cleanup: (() => Promise<unknown>)[] = [];
const children = new Set<ChildProcess>();
let redis: Redis;
let redisUrl: string;

beforeAll(() => {
  redis = standaloneClient();
  redisUrl = `redis://${standalone().host}:${standalone().port}`;
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  redis.disconnect();
});

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of every CLI run: no REDIS_URL, so nothing but the --redis given is ever used. */
function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.REDIS_URL;
  return env;
}

/** Starts the CLI from the sources, as `npm run cli -- ...` does. */
function start(args: readonly string[]): ChildProcess & { stdoutText: () => string; stderrText: () => string; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './tools/lua-text.mjs', 'src/recovery/cli/main.ts', ...args], {
    cwd: root,
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<Run>((resolveRun) =>
    child.once('close', (code, signal) => {
      children.delete(child);
      resolveRun({ code, signal, stdout, stderr });
    }),
  );
  return Object.assign(child, { stdoutText: () => stdout, stderrText: () => stderr, done });
}

/** Runs the CLI to completion (killed after 30 s: a hang is a failure). */
async function cli(...args: string[]): Promise<Run> {
  const child = start(args);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const run = await child.done;
  clearTimeout(timer);
  return run;
}

async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** One deployment under its own prefix, with the CLI options that point at it. */
function world() {
  const prefix = uniquePrefix('cli');
  const backend = new RedisBackend(redis, { prefix });
  const nodes = new RedisNodeStore(redis, { prefix });
  const registry = new RedisConductorRegistry(redis, { prefix });
  return {
    prefix,
    backend,
    nodes,
    registry,
    opts: ['--redis', redisUrl, '--prefix', prefix],
    /** A real conductor in this process, started (stopped by cleanup). */
    async conductor(id: string, ttlMs = 5_000): Promise<Conductor> {
      const locks = new LockManager({ backend, ttlMs });
      const conductor = new Conductor({ id, locks, nodes, registry, version: '1.2.3', drivers: ['ipmi'], lockRetry: { attempts: 1, intervalMs: 0 } });
      cleanup.push(async () => {
        await conductor.stop({ timeoutMs: 100 });
        await locks.close();
      });
      await conductor.start();
      return conductor;
    },
    /** Node `id` in `state` under a dead holder's lease (taken through the backend, never renewed), expired. */
    async orphan(id: string, state: ProvisionStateValue, owner = 'conductor-dead'): Promise<number> {
      await nodes.create({ id, provisionState: 'available' });
      const outcome = await backend.acquire({ resource: nodeResource(id), token: randomBytes(8).toString('hex'), owner, purpose: 'clean', ttlMs: 200 });
      if (!outcome.acquired) throw new Error(`could not take ${id}`);
      await nodes.transition(id, { from: ['available'], to: state, fence: outcome.fence });
      await until(async () => (await backend.inspect(nodeResource(id))).orphan !== null, 5_000, `${id}'s lease to expire`);
      return outcome.fence;
    },
  };
}

interface StatusJson {
  redis: string;
  prefix: string;
  conductors: { id: string; online: boolean; hostname: string; pid: number; ttlLeftMs: number | null }[];
  leases: { resource: string; nodeId: string | null; holder: { owner: string; fence: number; purpose: string }; ttlMs: number }[];
  orphans: { resource: string; nodeId: string | null; holder: { owner: string; fence: number; purpose: string }; expiredAt: number }[];
  audit: { id: string; type: string; at: number; body: Record<string, unknown> }[];
}

describe('leasehold CLI: status and forced recovery', () => {
  let w: ReturnType<typeof world>;
  let conductorA: Conductor;
  let task: NodeTask;
  let orphanFence: number;

  beforeAll(async () => {
    w = world();
    conductorA = await w.conductor('conductor-a');
    const conductorB = await w.conductor('conductor-b');
    await conductorB.stop();
    await w.nodes.create({ id: 'n1', provisionState: 'available' });
    task = await conductorA.reserve('n1', { purpose: 'deploy' });
    await task.transition('deploying', { targetState: 'active' });
    orphanFence = await w.orphan('n2', 'cleaning');
  });

  it('status shows conductors online and offline, live leases with holder, fence, purpose and time left, and orphans waiting', async () => {
    const run = await cli('status', ...w.opts);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`Redis ${redisUrl}, prefix "${w.prefix}", at ${lines[0]!.split(' at ')[1]}`);
    expect(run.stdout).toContain('Conductors: 1 online, 1 offline');
    expect(lines.find((l) => /^\s+conductor-a\s+online\s/.test(l))).toMatch(/1\.2\.3\s+ipmi\s.*heartbeat \d.* ago, \d+(\.\d)?s left$/);
    expect(lines.find((l) => /^\s+conductor-b\s+offline\s/.test(l))).toMatch(/stopped at \d{4}-/);
    const lease = lines.find((l) => l.trimStart().startsWith('node:n1 '));
    expect(lease).toMatch(new RegExp(`^\\s+node:n1\\s+conductor-a\\s+${task.fence}\\s+deploy\\s+\\S+\\s+\\d+(\\.\\d)?s$`));
    expect(lines.some((l) => /^\s+conductor:conductor-a\s+conductor-a\s/.test(l))).toBe(true); // its liveness lease
    expect(run.stdout).toContain('Orphans waiting for recovery: 1');
    expect(lines.find((l) => l.trimStart().startsWith('node:n2 '))).toMatch(new RegExp(`^\\s+node:n2\\s+conductor-dead\\s+${orphanFence}\\s+clean\\s+\\S+ ago$`));
    expect(run.stdout).toMatch(/Audit \(latest 10 records of forced breaks\): 0\n {2}\(none\)/);
  });

  it('status --json parses and holds the same', async () => {
    const run = await cli('status', '--json', ...w.opts);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as StatusJson;
    expect(status).toMatchObject({ redis: redisUrl, prefix: w.prefix, audit: [] });
    expect(status.conductors.map((c) => [c.id, c.online])).toEqual([
      ['conductor-a', true],
      ['conductor-b', false],
    ]);
    expect(status.conductors[0]).toMatchObject({ pid: process.pid });
    const lease = status.leases.find((l) => l.resource === 'node:n1');
    expect(lease).toMatchObject({ nodeId: 'n1', holder: { owner: 'conductor-a', fence: task.fence, purpose: 'deploy' } });
    expect(lease!.ttlMs).toBeGreaterThan(0);
    expect(lease!.ttlMs).toBeLessThanOrEqual(5_000);
    expect(status.orphans).toHaveLength(1);
    expect(status.orphans[0]).toMatchObject({ resource: 'node:n2', nodeId: 'n2', holder: { owner: 'conductor-dead', fence: orphanFence, purpose: 'clean' } });
    expect(status.orphans[0]!.expiredAt).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('recover refuses the live lease (exit 6), naming holder, fence, purpose and time left, and changes nothing', async () => {
    const run = await cli('recover', 'n1', '--actor', 'alice', ...w.opts);
    expect(run.code).toBe(6);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(`^n1: refused: live lease held by "conductor-a" \\(fence ${task.fence}, purpose "deploy"\\), \\d+(\\.\\d)?s left unless renewed\\. `),
    );
    expect(run.stderr).toContain('leasehold recover n1 --force --reason "..."');
    expect(task.signal.aborted).toBe(false);
    expect((await w.backend.inspect(nodeResource('n1'))).holder).toMatchObject({ owner: 'conductor-a', fence: task.fence });
    expect(await w.nodes.get('n1')).toMatchObject({ provisionState: 'deploying' });
  });

  it('recover --force without --reason is bad usage (exit 2) and changes nothing', async () => {
    const run = await cli('recover', 'n1', '--force', ...w.opts);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--force needs --reason');
    expect((await w.backend.inspect(nodeResource('n1'))).holder).toMatchObject({ owner: 'conductor-a', fence: task.fence });
  });

  it('recover --force --reason breaks it: the conductor loses the lease, its old fence is refused, the node is failed', async () => {
    const run = await cli('recover', 'n1', '--force', '--reason', 'conductor-a hung on a BMC call', '--actor', 'alice', ...w.opts);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^n1: broke the live lease of "conductor-a" \\(fence ${task.fence}, purpose "deploy"\\) \\(audit record written\\); ` +
          `recovered: "deploying" -> "deploy failed", written with fence \\d+; its lease was held by "conductor-a"`,
      ),
    );
    const node = await w.nodes.get('n1');
    expect(node.provisionState).toBe('deploy failed');
    expect(node.fence).toBeGreaterThan(task.fence);
    expect(node.lastError).toContain('alice');
    // The conductor hears it at its next heartbeat; its task is aborted, and the store refuses its old fence.
    await until(() => task.signal.aborted, 5_000, 'the conductor to lose its lease');
    await expect(w.nodes.transition('n1', { from: ['deploying'], to: 'active', fence: task.fence })).rejects.toBeInstanceOf(StaleFenceError);
  });

  it('status shows the audit record of the forced recovery', async () => {
    const text = await cli('status', ...w.opts);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Audit (latest 10 records of forced breaks): 2');
    const row = text.stdout.split('\n').find((l) => l.includes('forced-break'));
    expect(text.stdout.split('\n').find((l) => l.includes('forced-recovery'))).toMatch(/forced-recovery\s+alice\s+n1\s+-\s+\d+\s+-\s+-\s+recovered: deploying -> deploy failed$/);
    expect(row).toMatch(new RegExp(`^\\s+\\d{4}-\\S+\\s+forced-break\\s+alice\\s+n1\\s+conductor-a\\s+${task.fence}\\s+deploy\\s+\\S+\\s+conductor-a hung on a BMC call$`));
    expect(text.stdout.split('\n').some((l) => l.trimStart().startsWith('node:n1 '))).toBe(false); // no lease on n1 any more

    const json = JSON.parse((await cli('status', '--json', ...w.opts)).stdout) as StatusJson;
    expect(json.audit.map((a) => a.type)).toEqual(['forced-break', 'forced-recovery']);
    expect(json.audit[0]).toMatchObject({
      type: 'forced-break',
      body: { actor: 'alice', reason: 'conductor-a hung on a BMC call', nodeId: 'n1', previous: { owner: 'conductor-a', fence: task.fence, purpose: 'deploy' } },
    });
    expect(json.audit[0]!.body.at).toEqual(expect.any(Number));
    expect(json.leases.some((l) => l.resource === 'node:n1')).toBe(false);
  });

  it('recover recovers the orphan without force (exit 0), and only once (then exit 5)', async () => {
    const run = await cli('recover', 'n2', '--actor', 'bob', ...w.opts);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^n2: recovered: "cleaning" -> "clean failed", written with fence \\d+; its lease was held by "conductor-dead" \\(fence ${orphanFence}, purpose "clean"\\)\\n$`));
    expect(await w.nodes.get('n2')).toMatchObject({ provisionState: 'clean failed' });
    const again = await cli('recover', 'n2', ...w.opts);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('n2: Node "n2" is not orphaned');
    const status = JSON.parse((await cli('status', '--json', ...w.opts)).stdout) as StatusJson;
    expect(status.orphans).toEqual([]);
    expect(status.audit).toHaveLength(2); // recovering an orphan is not a forced break: still the two records above
  });
});

describe('leasehold CLI: exit codes', () => {
  it('recover exits 4 for an unknown node and 5 for a node that is not orphaned', async () => {
    const w = world();
    const unknown = await cli('recover', 'ghost', ...w.opts);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toBe('ghost: Node "ghost" does not exist; create() it first or check the id.\n');
    await w.nodes.create({ id: 'idle', provisionState: 'available' });
    const idle = await cli('recover', 'idle', ...w.opts);
    expect(idle.code).toBe(5);
    expect(idle.stderr).toMatch(/^idle: Node "idle" is not orphaned/);
  });

  it('recover of several nodes prints each result and exits with the highest code', async () => {
    const w = world();
    const conductor = await w.conductor('conductor-c');
    await w.nodes.create({ id: 'busy', provisionState: 'available' });
    await conductor.reserve('busy', { purpose: 'clean' });
    await w.nodes.create({ id: 'idle', provisionState: 'available' });
    await w.orphan('o1', 'deploying');
    await w.orphan('o2', 'inspecting');

    const text = await cli('recover', 'o1', 'ghost', 'idle', ...w.opts);
    expect(text.code).toBe(5);
    expect(text.stdout).toMatch(/^o1: recovered: "deploying" -> "deploy failed"/);
    expect(text.stderr.split('\n').filter(Boolean).map((l) => l.split(':')[0])).toEqual(['ghost', 'idle']);

    const json = await cli('recover', 'o2', 'ghost', 'idle', 'busy', '--json', ...w.opts);
    expect(json.code).toBe(6);
    expect(json.stderr).toBe('');
    const report = JSON.parse(json.stdout) as {
      exitCode: number;
      results: { nodeId: string; exitCode: number; outcome: string; result: { to?: string } | null; error: { code: string; holder?: { owner: string }; ttlMs?: number } | null }[];
    };
    expect(report.exitCode).toBe(6);
    expect(report.results.map((r) => [r.nodeId, r.exitCode, r.outcome, r.error?.code ?? null])).toEqual([
      ['o2', 0, 'recovered', null],
      ['ghost', 4, 'refused', 'NODE_NOT_FOUND'],
      ['idle', 5, 'refused', 'NOT_ORPHANED'],
      ['busy', 6, 'refused', 'LEASE_LIVE'],
    ]);
    expect(report.results[0]!.result).toMatchObject({ to: 'inspect failed' });
    expect(report.results[3]!.error).toMatchObject({ holder: { owner: 'conductor-c', purpose: 'clean' } });
    expect(report.results[3]!.error!.ttlMs).toBeGreaterThan(0);
  });

  it('bad usage exits 2 with a message, before connecting anywhere', async () => {
    const port = await closedPort(); // nothing listens: a usage error must not even try
    const redisOpt = ['--redis', `redis://127.0.0.1:${port}`];
    const cases: [string[], RegExp][] = [
      [[], /No command given/],
      [['frobnicate', ...redisOpt], /Unknown command "frobnicate"/],
      [['status', '--bogus', ...redisOpt], /Unknown option '--bogus'/],
      [['recover', ...redisOpt], /recover needs at least one node id/],
      [['recover', 'n1', '--force', ...redisOpt], /--force needs --reason/],
      [['recover', 'n1', '--force', '--reason', '  ', ...redisOpt], /--force needs --reason/],
      [['recover', 'n1', '--ttl', 'soon', ...redisOpt], /--ttl must be a whole number/],
      [['status', '--force', ...redisOpt], /--force is an option of "recover", not of "status"/],
      [['status', '--redis', 'http://localhost:1'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
      [['recover', 'n1', '--store', 'mysql', ...redisOpt], /--store must be redis or postgres/],
      [['recover', 'n1', '--store', 'postgres', ...redisOpt], /--store postgres needs --pg URL/],
      [['status', '--prefix', 'a{b}', ...redisOpt], /prefix must be a non-empty string .* without "\{" or "\}"/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.stdout, args.join(' ')).toBe('');
    }
    const json = await cli('recover', 'n1', '--force', '--json', ...redisOpt);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 2, error: { code: 'REASON_REQUIRED' } });
  });

  it('--help prints the commands and the exit codes, exit 0', async () => {
    for (const args of [['--help'], ['help'], ['recover', '-h']]) {
      const run = await cli(...args);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('leasehold recover <node...>');
      expect(run.stdout).toMatch(/Exit codes[^\n]*\n {2}0 {2}ok\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 .*\n {2}5 .*\n {2}6 /);
    }
  });
});

describe('leasehold CLI: Redis unreachable and passwords', () => {
  it('exits 3 naming the redacted URL, for every command, and never prints the password', async () => {
    const port = await closedPort();
    const url = `redis://:s3cret@127.0.0.1:${port}`;
    for (const args of [
      ['status', '--redis', url],
      ['status', `--redis=${url}`, '--json'],
      ['recover', 'n1', '--redis', url],
      ['recover', 'n1', '--force', '--reason', 'x', '--redis', url, '--json'],
      ['watch', '--redis', url],
    ]) {
      const started = performance.now();
      const run = await cli(...args);
      const what = args.join(' ').replaceAll('s3cret', '***');
      expect(run.code, what).toBe(3);
      expect(performance.now() - started, what).toBeLessThan(15_000); // fails fast
      expect(run.stdout + run.stderr, what).not.toContain('s3cret');
      const message = args.includes('--json') ? (JSON.parse(run.stdout) as { error: { code: string; message: string } }).error : { code: 'UNREACHABLE', message: run.stderr };
      expect(message.code).toBe('UNREACHABLE');
      expect(message.message, what).toContain(`Redis at redis://:***@127.0.0.1:${port} is unreachable: connect ECONNREFUSED`);
    }
  });

  it('never prints the password of a reachable Redis either, nor in usage errors', async () => {
    const w = world();
    const { host, port } = standalone();
    const url = `redis://:s3cret@${host}:${port}`;
    const status = await cli('status', '--redis', url, '--prefix', w.prefix);
    expect(status.code).toBe(0); // this server needs no password: the client is told so, and goes on
    expect(status.stdout).toContain(`Redis redis://:***@${host}:${port}, prefix`);
    const json = await cli('status', '--json', '--redis', url, '--prefix', w.prefix);
    expect((JSON.parse(json.stdout) as StatusJson).redis).toBe(`redis://:***@${host}:${port}`);
    const usage = await cli('status', '--bogus', '--redis', url);
    expect(usage.code).toBe(2);
    const scheme = await cli('status', '--redis', 'http://admin:s3cret@example.invalid/');
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toContain('http://admin:***@example.invalid/');
    for (const run of [status, json, usage, scheme]) expect(run.stdout + run.stderr).not.toContain('s3cret');
  });
});

describe('leasehold CLI: watch', () => {
  /** Starts `watch` and waits until it says it is watching (events appended from then on are never missed). */
  async function watch(...args: string[]): Promise<ReturnType<typeof start>> {
    const child = start(['watch', ...args]);
    await until(() => child.stderrText().includes('Watching ') || child.exitCode !== null, 20_000, 'watch to start');
    expect(child.stderrText()).toMatch(/^Watching \S+:recovery-events on redis:\/\/127\.0\.0\.1:\d+ \(Ctrl-C to stop\)\.\n$/);
    return child;
  }

  it('prints recovery events as they are published, then exits 0 on SIGTERM', async () => {
    const w = world();
    const events = new RedisEventLog(redis, 'recovery-events', { prefix: w.prefix });
    await events.append('degraded', { message: 'an event from before the watch', manager: 'recovery:old' });
    const child = await watch(...w.opts);

    // A real recovery manager's events, then a hand-made one.
    const locks = new LockManager({ backend: w.backend, ttlMs: 5_000 });
    const manager = new RecoveryManager({ locks, nodes: w.nodes, id: 'rm-1', eventLog: events });
    cleanup.push(() => locks.close());
    const fence = await w.orphan('w1', 'deploying');
    await manager.recoverNode('w1', { actor: 'carol' });
    await events.append('degraded', { message: 'keyspace events are off: sweeps only', manager: 'recovery:rm-2' });

    await until(() => child.stdoutText().split('\n').filter(Boolean).length >= 3, 10_000, 'three event lines');
    child.kill('SIGTERM');
    const run = await child.done;
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\S+Z orphaned node w1: lease of "conductor-dead" \\(fence ${fence}, purpose "clean"\\) expired unreleased, trigger operator, by recovery:rm-1$`));
    expect(lines[1]).toMatch(
      new RegExp(`^\\d{4}-\\S+Z recovered node w1: deploying -> deploy failed \\(fence \\d+; was "conductor-dead" \\(fence ${fence}, purpose "clean"\\)\\), trigger operator, by recovery:rm-1, \\S+ after expiry$`),
    );
    expect(lines[2]).toMatch(/^\d{4}-\S+Z degraded keyspace events are off: sweeps only, by recovery:rm-2$/);
    expect(run.stdout).not.toContain('from before the watch');
  });

  it('--json prints one JSON object per event, --tail N the last N first; SIGINT exits 0 too', async () => {
    const w = world();
    const events = new RedisEventLog(redis, 'recovery-events', { prefix: w.prefix });
    await events.append('skipped', { nodeId: 'a', reason: 'held', trigger: 'sweep', manager: 'recovery:x' });
    await events.append('skipped', { nodeId: 'b', reason: 'stable', trigger: 'sweep', manager: 'recovery:x' });
    const child = await watch('--json', '--tail', '1', ...w.opts);
    await events.append('failed', { nodeId: 'c', trigger: 'event', manager: 'recovery:x', error: 'BackendError: boom' });
    await until(() => child.stdoutText().split('\n').filter(Boolean).length >= 2, 10_000, 'two JSON lines');
    child.kill('SIGINT');
    const run = await child.done;
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; type: string; at: number; body: Record<string, unknown> });
    expect(lines.map((l) => [l.type, l.body.nodeId])).toEqual([
      ['skipped', 'b'],
      ['failed', 'c'],
    ]);
    expect(lines[1]).toMatchObject({ body: { error: 'BackendError: boom' } });
    expect(lines[1]!.id).toMatch(/^\d+-\d+$/);
    expect(lines[1]!.at).toBe(Number(lines[1]!.id.split('-')[0]));
  });
});

describe('leasehold CLI: recover --store postgres', () => {
  it('exits 3 naming the redacted PostgreSQL URL when it is unreachable, and never prints its password', async () => {
    const w = world();
    const port = await closedPort();
    const run = await cli('recover', 'n1', ...w.opts, '--store', 'postgres', '--pg', `postgres://postgres:pgs3cret@127.0.0.1:${port}/postgres`);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`PostgreSQL at postgres://postgres:***@127.0.0.1:${port}/postgres is unreachable`);
    expect(run.stdout + run.stderr).not.toContain('pgs3cret');
  });

  it.runIf(withPostgres)(`recovers an orphan whose node lives in PostgreSQL (${redact(PG_URL)})`, async () => {
    const w = world();
    const schema = `leasehold_t_${randomBytes(4).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    cleanup.push(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    });
    await migrate(pool, { schema });
    const nodes = new PostgresNodeStore(pool, { schema });
    await nodes.create({ id: 'pg-1', provisionState: 'available' });
    const outcome = await w.backend.acquire({ resource: nodeResource('pg-1'), token: 't', owner: 'conductor-dead', purpose: 'deploy', ttlMs: 200 });
    if (!outcome.acquired) throw new Error('could not take pg-1');
    await nodes.transition('pg-1', { from: ['available'], to: 'deploying', fence: outcome.fence });
    await until(async () => (await w.backend.inspect(nodeResource('pg-1'))).orphan !== null, 5_000, 'the lease to expire');

    const run = await cli('recover', 'pg-1', '--json', ...w.opts, '--store', 'postgres', '--pg', PG_URL, '--pg-schema', schema);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { store: string; results: { outcome: string; result: { to: string } }[] };
    expect(report.store).toBe(`PostgreSQL at ${redact(PG_URL)}, table "${schema}"."leasehold_nodes"`);
    expect(report.results[0]).toMatchObject({ outcome: 'recovered', result: { to: 'deploy failed' } });
    const node = await nodes.get('pg-1');
    expect(node.provisionState).toBe('deploy failed');
    expect(node.fence).toBeGreaterThan(outcome.fence);
  });
});
