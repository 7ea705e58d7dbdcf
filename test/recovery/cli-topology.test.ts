// The `leasehold` CLI on the other topologies, as operators run it (a real child process): `--cluster` on the
// harness's Redis Cluster, `--quorum` over its three independent masters, `--sentinel` on a private Sentinel
// deployment. For each, `status` lists the orphan and `recover` recovers it (then exits 5); bad combinations exit 2
// before connecting, unreachable servers exit 3 naming redacted URLs, and a password is never printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Conductor,
  LockManager,
  QuorumBackend,
  RedisBackend,
  RedisConductorRegistry,
  RedisEventLog,
  RedisNodeStore,
  nodeResource,
  type LockBackend,
  type ProvisionStateValue,
} from 'leasehold';
import { clusterClient, clusterNodes, masterClients, masters, standalone, standaloneClient, uniquePrefix } from '../harness/env.js';
import { SENTINEL_MASTER, startSentinelSet, type SentinelSet } from '../harness/redis-sentinel.js';
import { sleep } from '../support/wait.js';
import { closedPort } from '../support/ports.js';

const root = resolve(import.meta.dirname, '../..');
const SECRET = 's3cret-topology';
const cleanup: (() => Promise<unknown>)[] = [];
const clients: (Redis | Cluster)[] = [];

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  for (const client of clients) client.disconnect();
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** ioredis's own notice (console.warn) that these servers need no password; it holds no secret. */
const NO_PASSWORD_NOTICE = /^\[WARN\] This Redis server's `default` user does not require a password, but a password was supplied\n/gm;

/** Starts the CLI from the sources, as `npm run cli -- ...` does, without $REDIS_URL; killed after 30 s (a hang fails). */
function start(args: readonly string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<Run> } {
  const env = { ...process.env };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './tools/lua-text.mjs', 'src/recovery/cli/main.ts', ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<Run>((resolveRun) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr: stderr.replace(NO_PASSWORD_NOTICE, '') });
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr.replace(NO_PASSWORD_NOTICE, ''), done };
}

/** Runs the CLI to completion. */
function cli(...args: string[]): Promise<Run> {
  return start(args).done;
}

async function until(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** `redis://:<SECRET>@host:port`: the harness servers need no password, so the client is told so and goes on. */
const url = ({ host, port }: { host: string; port: number }): string => `redis://:${SECRET}@${host}:${port}`;
const redacted = ({ host, port }: { host: string; port: number }): string => `redis://:***@${host}:${port}`;

/**
 * A deployment under its own prefix: leases on `backend`, nodes and the conductor registry on `data`; a live
 * conductor holding node `busy`, and node `lost` orphaned in "cleaning" by a dead holder.
 */
async function deployment(label: string, backend: (prefix: string) => LockBackend, data: Redis | Cluster) {
  const prefix = uniquePrefix(label);
  const lockBackend = backend(prefix);
  const nodes = new RedisNodeStore(data, { prefix });
  const registry = new RedisConductorRegistry(data, { prefix });
  const locks = new LockManager({ backend: lockBackend, ttlMs: 5_000 });
  const conductor = new Conductor({ id: 'conductor-a', locks, nodes, registry, lockRetry: { attempts: 1, intervalMs: 0 } });
  cleanup.push(async () => {
    await conductor.stop({ timeoutMs: 100 });
    await locks.close();
  });
  await conductor.start();
  await nodes.create({ id: 'busy', provisionState: 'available' });
  await conductor.reserve('busy', { purpose: 'deploy' });
  await nodes.create({ id: 'lost', provisionState: 'available' });
  const taken = await lockBackend.acquire({ resource: nodeResource('lost'), token: randomBytes(8).toString('hex'), owner: 'conductor-dead', purpose: 'clean', ttlMs: 300 });
  if (!taken.acquired) throw new Error('could not take node lost');
  await nodes.transition('lost', { from: ['available'], to: 'cleaning' satisfies ProvisionStateValue, fence: taken.fence });
  await until(async () => (await lockBackend.inspect(nodeResource('lost'))).orphan !== null, 5_000, 'the lease of node lost to expire');
  return { prefix, nodes, data, fence: taken.fence };
}

interface StatusJson {
  redis: string;
  topology: string;
  conductors: { id: string; online: boolean }[];
  leases: { resource: string; holder: { owner: string } }[];
  orphans: { resource: string; holder: { owner: string; fence: number } }[];
}

/**
 * `status` (text and --json) shows the conductor, the live lease and the orphan; `recover` recovers the orphan,
 * refuses the live lease (6), then says the orphan is gone (5). No output holds the password.
 */
async function statusAndRecover(opts: string[], world: Awaited<ReturnType<typeof deployment>>, header: string, topology: string): Promise<void> {
  const text = await cli('status', ...opts, '--prefix', world.prefix);
  expect(text.stderr).toBe('');
  expect(text.code).toBe(0);
  expect(text.stdout.split('\n')[0]).toMatch(new RegExp(`^Redis ${escape(header)}, prefix "${escape(world.prefix)}", at \\d{4}-`));
  expect(text.stdout).toMatch(/Conductors: 1 online, 0 offline\n {2}ID .*\n {2}conductor-a +online /);
  expect(text.stdout).toMatch(/\n {2}node:busy +conductor-a +\d+ +deploy /);
  expect(text.stdout).toMatch(new RegExp(`Orphans waiting for recovery: 1\\n.*\\n {2}node:lost +conductor-dead +${world.fence} +clean `));

  const json = JSON.parse((await cli('status', '--json', ...opts, '--prefix', world.prefix)).stdout) as StatusJson;
  expect(json).toMatchObject({ redis: header, topology });
  expect(json.conductors.map((c) => [c.id, c.online])).toEqual([['conductor-a', true]]);
  expect(json.leases.map((l) => [l.resource, l.holder.owner]).sort()).toEqual([
    ['conductor:conductor-a', 'conductor-a'],
    ['node:busy', 'conductor-a'],
  ]);
  expect(json.orphans.map((o) => [o.resource, o.holder.owner, o.holder.fence])).toEqual([['node:lost', 'conductor-dead', world.fence]]);

  const recover = await cli('recover', 'lost', 'busy', '--actor', 'alice', ...opts, '--prefix', world.prefix);
  expect(recover.code).toBe(6);
  expect(recover.stdout).toMatch(new RegExp(`^lost: recovered: "cleaning" -> "clean failed", written with fence \\d+; its lease was held by "conductor-dead" \\(fence ${world.fence}, purpose "clean"\\)\\n$`));
  expect(recover.stderr).toMatch(/^busy: refused: live lease held by "conductor-a" \(fence \d+, purpose "deploy"\)/);
  expect(await world.nodes.get('lost')).toMatchObject({ provisionState: 'clean failed' });
  expect((await world.nodes.get('lost')).lastError).toContain('alice');
  expect(await world.nodes.get('busy')).toMatchObject({ provisionState: 'available' });

  const again = await cli('recover', 'lost', '--json', ...opts, '--prefix', world.prefix);
  expect(again.code).toBe(5);
  expect(JSON.parse(again.stdout)).toMatchObject({ redis: header, exitCode: 5, results: [{ nodeId: 'lost', outcome: 'refused', error: { code: 'NOT_ORPHANED' } }] });

  // watch: the two events of that recovery (--tail 2), then one appended while it blocks; SIGTERM exits 0.
  const watch = start(['watch', '--tail', '2', '--json', ...opts, '--prefix', world.prefix]);
  await until(() => Promise.resolve(watch.stderr().includes('Watching ') || watch.child.exitCode !== null), 20_000, 'watch to start');
  expect(watch.stderr()).toBe(`Watching ${world.prefix}:recovery-events on ${header} (Ctrl-C to stop).\n`);
  await new RedisEventLog(world.data, 'recovery-events', { prefix: world.prefix }).append('degraded', { message: 'appended while watching' });
  await until(() => Promise.resolve(watch.stdout().split('\n').filter(Boolean).length >= 3), 10_000, 'three event lines');
  watch.child.kill('SIGTERM');
  const watched = await watch.done;
  expect(watched.code).toBe(0);
  const events = watched.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; body: { nodeId?: string; message?: string } });
  expect(events.map((e) => [e.type, e.body.nodeId ?? e.body.message])).toEqual([
    ['orphaned', 'lost'],
    ['recovered', 'lost'],
    ['degraded', 'appended while watching'],
  ]);
  for (const run of [text, recover, again, watched]) expect(run.stdout + run.stderr).not.toContain(SECRET);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('leasehold CLI --cluster', () => {
  it('status and recover of an orphan on the Redis Cluster, through two seed URLs with a password', async () => {
    const cluster = clusterClient();
    clients.push(cluster);
    const world = await deployment('cli-cluster', (prefix) => new RedisBackend(cluster, { prefix }), cluster);
    const seeds = clusterNodes().slice(0, 2);
    await statusAndRecover(['--cluster', '--redis', seeds.map(url).join(',')], world, `Cluster via ${seeds.map(redacted).join(',')}`, 'cluster');
  });
});

describe('leasehold CLI --quorum', () => {
  let quorum: Redis[];
  beforeAll(() => {
    quorum = masterClients();
    clients.push(...quorum);
  });

  it('status and recover of an orphan: leases on the three masters, nodes and registry on the first', async () => {
    const world = await deployment('cli-quorum', (prefix) => new QuorumBackend(quorum, { prefix, timeoutMs: 500 }), quorum[0]!);
    const list = masters().map(url).join(',');
    const header = `quorum of ${masters().map(redacted).join(',')}; nodes, registry and events on ${redacted(masters()[0]!)}`;
    await statusAndRecover(['--quorum', list], world, header, 'quorum');
  });

  it('with --redis: nodes, registry and events on that Redis', async () => {
    const data = standaloneClient();
    clients.push(data);
    const world = await deployment('cli-quorum-data', (prefix) => new QuorumBackend(quorum, { prefix, timeoutMs: 500 }), data);
    const header = `quorum of ${masters().map(redacted).join(',')}; nodes, registry and events on ${redacted(standalone())}`;
    await statusAndRecover(['--quorum', masters().map(url).join(','), '--redis', url(standalone())], world, header, 'quorum');
  });

  it('goes on with a majority of the masters (a warning names the one down); with fewer, exits 3 naming them', async () => {
    const world = await deployment('cli-quorum-down', (prefix) => new QuorumBackend(quorum, { prefix, timeoutMs: 500 }), quorum[0]!);
    const [a, b] = masters();
    const down = { host: '127.0.0.1', port: await closedPort() };
    const down2 = { host: '127.0.0.1', port: await closedPort() };
    const one = await cli('status', '--json', '--quorum', [a!, b!, down].map(url).join(','), '--prefix', world.prefix);
    expect(one.code).toBe(0);
    expect(one.stderr).toBe(`warning: Redis at ${redacted(down)} is unreachable: connect ECONNREFUSED 127.0.0.1:${down.port}. Check --quorum and that the server is up. Going on with a majority of the masters.\n`);
    expect((JSON.parse(one.stdout) as StatusJson).orphans.map((o) => o.resource)).toEqual(['node:lost']);
    const recover = await cli('recover', 'lost', '--quorum', [a!, b!, down].map(url).join(','), '--prefix', world.prefix);
    expect(recover.code).toBe(0);
    expect(recover.stdout).toMatch(/^lost: recovered: "cleaning" -> "clean failed"/);

    const started = performance.now();
    const two = await cli('status', '--quorum', [a!, down, down2].map(url).join(','), '--prefix', world.prefix);
    expect(two.code).toBe(3);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(two.stderr).toMatch(/^leasehold: Quorum mode needs a majority of the --quorum masters \(2 of 3\); 2 unreachable: /);
    for (const d of [down, down2]) expect(two.stderr).toContain(`Redis at ${redacted(d)} is unreachable: connect ECONNREFUSED`);
    const data = await cli('status', '--quorum', masters().map(url).join(','), '--redis', url(down), '--prefix', world.prefix);
    expect(data.code).toBe(3);
    expect(data.stderr).toContain(`leasehold: Redis at ${redacted(down)} is unreachable: connect ECONNREFUSED 127.0.0.1:${down.port}. Check --redis (or $REDIS_URL;`);
    for (const run of [one, recover, two, data]) expect(run.stdout + run.stderr).not.toContain(SECRET);
  });
});

describe('leasehold CLI --sentinel', () => {
  let set: SentinelSet;
  let master: Redis;
  beforeAll(async () => {
    set = await startSentinelSet();
    master = set.client();
    master.on('error', () => undefined);
    clients.push(master);
    cleanup.push(() => set.stop());
  }, 60_000);

  it('status and recover of an orphan on the master the sentinels name, with the password from --redis', async () => {
    const world = await deployment('cli-sentinel', (prefix) => new RedisBackend(master, { prefix }), master);
    const list = set.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
    await statusAndRecover(
      ['--sentinel', list, '--master', SENTINEL_MASTER, '--redis', `redis://:${SECRET}@ignored.invalid:1`],
      world,
      `master "${SENTINEL_MASTER}" via Sentinel ${list}`,
      'sentinel',
    );
  });

  it('exits 3 when no sentinel answers, or when they know no such master', async () => {
    const port = await closedPort();
    const none = await cli('status', '--sentinel', `127.0.0.1:${port}`, '--master', SENTINEL_MASTER, '--redis', `redis://:${SECRET}@x:1`);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(new RegExp(`^leasehold: Redis master "${SENTINEL_MASTER}" via Sentinel 127\\.0\\.0\\.1:${port} is unreachable: All sentinels are unreachable`));
    const unknown = await cli('status', '--sentinel', `${set.sentinels[0]!.host}:${set.sentinels[0]!.port}`, '--master', 'no-such-master');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('leasehold: Redis master "no-such-master" via Sentinel');
    for (const run of [none, unknown]) expect(run.stdout + run.stderr).not.toContain(SECRET);
  });
});

describe('leasehold CLI topology options: bad usage and unreachable', () => {
  it('conflicting or malformed topology options exit 2 before connecting, and never print the password', async () => {
    const port = await closedPort(); // nothing listens: a usage error must not even try
    const at = (p: number): string => `redis://:${SECRET}@127.0.0.1:${p}`;
    const three = [at(port), at(port + 1), at(port + 2)].join(',');
    const cases: [string[], RegExp][] = [
      [['status', '--cluster', '--quorum', three], /--cluster and --quorum cannot be combined/],
      [['status', '--sentinel', '127.0.0.1:1', '--master', 'm', '--quorum', three], /--sentinel and --quorum cannot be combined/],
      [['recover', 'n1', '--cluster', '--sentinel', '127.0.0.1:1', '--master', 'm'], /--cluster and --sentinel cannot be combined/],
      [['status', '--master', 'm', '--redis', at(port)], /--master goes with --sentinel/],
      [['watch', '--sentinel', '127.0.0.1:1', '--redis', at(port)], /--sentinel needs --master NAME/],
      [['status', '--sentinel', 'sentinel-1', '--master', 'm'], /--sentinel takes host:port\[,host:port\.\.\.\]/],
      [['status', '--redis', `${at(port)},${at(port + 1)}`], /--redis lists 2 URLs: seed nodes of a Redis Cluster need --cluster/],
      [['status', '--quorum', [at(port), at(port + 1)].join(',')], /--quorum: QuorumBackend needs an odd number of independent masters/],
      [['status', '--quorum', [at(port), at(port), at(port + 1)].join(',')], /--quorum: QuorumBackend masters must be distinct servers/],
      [['status', '--quorum', `${at(port)},http://127.0.0.1:1,${at(port + 1)}`], /--quorum must be a redis:\/\/ or rediss:\/\/ URL/],
      [['status', '--quorum', three, '--redis', `${at(port)},${at(port + 1)}`], /--redis lists several URLs; with --quorum/],
      [['status', '--cluster', '--redis', `${at(port)},redis://:other-pass@127.0.0.1:${port + 1}`], /must share one scheme, user and password/],
      [['status', '--cluster', '--redis', `${at(port)}/3`], /A Redis Cluster has only database 0/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(...args);
      const what = args.join(' ').replaceAll(SECRET, '***');
      expect(run.code, what).toBe(2);
      expect(run.stderr, what).toMatch(message);
      expect(run.stdout, what).toBe('');
      expect(run.stderr, what).not.toContain(SECRET);
      expect(run.stderr, what).not.toContain('other-pass');
    }
    const json = await cli('status', '--json', '--cluster', '--quorum', three);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 2, error: { code: 'USAGE', message: expect.stringMatching(/cannot be combined/) as unknown } });
  });

  it('an unreachable Cluster exits 3 naming the redacted seed URLs, for every command', async () => {
    const ports = [await closedPort(), await closedPort()];
    const seeds = ports.map((port) => `redis://:${SECRET}@127.0.0.1:${port}`).join(',');
    const standaloneServer = await cli('status', '--cluster', '--redis', url(standalone()));
    expect(standaloneServer.code).toBe(3);
    expect(standaloneServer.stderr).toBe(
      `leasehold: Redis Cluster via ${redacted(standalone())} is unusable: ERR This instance has cluster support disabled. Check --redis (or $REDIS_URL) with --cluster and that it is a Cluster.\n`,
    );
    for (const args of [['status'], ['recover', 'n1', '--json'], ['watch']]) {
      const started = performance.now();
      const run = await cli(...args, '--cluster', '--redis', seeds);
      const what = args.join(' ');
      expect(run.code, what).toBe(3);
      expect(performance.now() - started, what).toBeLessThan(15_000);
      expect(run.stdout + run.stderr, what).not.toContain(SECRET);
      const message = args.includes('--json') ? (JSON.parse(run.stdout) as { error: { code: string; message: string } }).error.message : run.stderr;
      expect(message, what).toContain(`Redis Cluster via ${ports.map((port) => `redis://:***@127.0.0.1:${port}`).join(',')} is unreachable: `);
      expect(message, what).toContain(`is unreachable: connect ECONNREFUSED 127.0.0.1:${ports[0]}. Check --redis (or $REDIS_URL) with --cluster`);
    }
  });
});
