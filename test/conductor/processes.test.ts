// Conductors in real processes: racing for nodes, paused past their lease (SIGSTOP), killed (SIGKILL) and
// restarted under the same id. The node table is shared between the processes (Redis; Postgres when reachable).
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Conductor,
  ConductorIdInUseError,
  LockManager,
  RedisBackend,
  RedisConductorRegistry,
  RedisNodeStore,
  type NodeStore,
  type ProvisionStateValue,
} from 'leasehold';
import { PostgresNodeStore, migrate } from 'leasehold/postgres';
import { standalone, standaloneClient, uniquePrefix } from '../harness/env.js';
import { PG_REQUIRED, PG_URL, probePostgres, warnPostgresSkipped } from '../support/postgres.js';
import { ConductorProcess, killConductorProcesses } from '../support/conductor-process.js';
import { sleep } from '../support/wait.js';


let redis: Redis;
const cleanup: (() => Promise<unknown>)[] = [];

const pgSchema = `leasehold_t_${randomBytes(4).toString('hex')}`;
const pgUnreachable = await probePostgres();
const withPostgres = pgUnreachable === null || PG_REQUIRED; // required and unreachable: its tests fail, loudly
if (!withPostgres) warnPostgresSkipped('the PostgresNodeStore conductor-process tests in test/conductor/processes.test.ts', pgUnreachable ?? '');
let pgPool: pg.Pool | null = null;

beforeAll(async () => {
  redis = standaloneClient();
  if (withPostgres) {
    pgPool = new pg.Pool({ connectionString: PG_URL, max: 4 });
    await pgPool.query(`CREATE SCHEMA "${pgSchema}"`);
  }
});
afterAll(async () => {
  killConductorProcesses();
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  redis.disconnect();
  if (pgPool) {
    await pgPool.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
    await pgPool.end();
  }
});

interface StoreKind {
  readonly name: string;
  readonly env: (prefix: string) => Record<string, string>;
  readonly open: (prefix: string) => Promise<NodeStore>;
}

let tables = 0;
const stores: StoreKind[] = [
  {
    name: 'RedisNodeStore',
    env: () => ({ STORE: 'redis' }),
    open: (prefix) => Promise.resolve(new RedisNodeStore(redis, { prefix })),
  },
];
if (withPostgres) {
  // Each deployment gets its own table in this file's schema; the child process opens the same one.
  const tableOf = new Map<string, string>();
  stores.push({
    name: 'PostgresNodeStore',
    env: (prefix) => ({ STORE: 'postgres', PG_URL, PG_SCHEMA: pgSchema, PG_TABLE: tableOf.get(prefix)! }),
    open: async (prefix) => {
      const table = `nodes_${++tables}`;
      tableOf.set(prefix, table);
      await migrate(pgPool!, { schema: pgSchema, table });
      return new PostgresNodeStore(pgPool!, { schema: pgSchema, table });
    },
  });
}

describe.each(stores)('conductor processes sharing a $name', (kind) => {
  async function deployment(ttlMs: number) {
    const prefix = uniquePrefix('proc');
    const nodes = await kind.open(prefix);
    const registry = new RedisConductorRegistry(redis, { prefix });
    const spawn = (id: string): ConductorProcess =>
      new ConductorProcess({
        REDIS_URL: `redis://${standalone().host}:${standalone().port}`,
        PREFIX: prefix,
        ID: id,
        TTL_MS: String(ttlMs),
        ...kind.env(prefix),
      });
    const local = (id: string): Conductor => {
      const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs });
      const conductor = new Conductor({ id, locks, nodes, registry, lockRetry: { attempts: 1, intervalMs: 0 } });
      cleanup.push(async () => {
        await conductor.stop({ timeoutMs: 0 });
        await locks.close();
      });
      return conductor;
    };
    return { prefix, nodes, registry, spawn, local };
  }

  it('two conductor processes racing for the same nodes work each node one at a time, with growing fences', async () => {
    const d = await deployment(5_000);
    const nodeIds = ['r0', 'r1', 'r2', 'r3'];
    for (const id of nodeIds) await d.nodes.create({ id, provisionState: 'manageable' });
    const [a, b] = [d.spawn('racer-a'), d.spawn('racer-b')];
    await Promise.all([a.next('ready'), b.next('ready')]);
    const logKey = `${d.prefix}race-log`;
    const [ra, rb] = await Promise.all([
      a.ask({ type: 'race', nodeIds, rounds: 60, logKey }, 'raced'),
      b.ask({ type: 'race', nodeIds, rounds: 60, logKey }, 'raced'),
    ]);
    expect(Number(ra.worked) + Number(rb.worked)).toBeGreaterThan(20);
    const log = await redis.lrange(logKey, 0, -1);
    const holder = new Map<string, string>();
    const lastFence = new Map<string, number>();
    for (const line of log) {
      const [event, node, owner, fence] = line.split(' ') as [string, string, string, string];
      if (event === 'enter') {
        expect(holder.get(node), `two holders of ${node} at once`).toBeUndefined();
        holder.set(node, owner);
        expect(Number(fence)).toBeGreaterThan(lastFence.get(node) ?? 0);
      } else {
        expect(holder.get(node)).toBe(owner);
        holder.delete(node);
      }
      lastFence.set(node, Number(fence));
    }
    for (const id of nodeIds) expect((await d.nodes.get(id)).fence).toBe(lastFence.get(id) ?? 0);
    console.log(`race: a worked ${String(ra.worked)} (locked out ${String(ra.locked)}), b worked ${String(rb.worked)} (locked out ${String(rb.locked)})`);
    expect(Number(ra.locked) + Number(rb.locked)).toBeGreaterThan(0); // they did contend
    for (const p of [a, b]) p.child.send({ type: 'stop' });
    await Promise.all([a.exited(), b.exited()]);
    expect(await d.nodes.list()).toHaveLength(nodeIds.length);
    expect((await new LockManager({ backend: new RedisBackend(redis, { prefix: d.prefix }), ttlMs: 1_000 }).leases())).toEqual([]);
  });

  it('a conductor paused (SIGSTOP) past its TTL is fenced out when it resumes, and the newer state stays', async () => {
    const d = await deployment(1_000);
    await d.nodes.create({ id: 'p1', provisionState: 'available' });
    const paused = d.spawn('sleeper');
    await paused.next('ready');
    const held = await paused.ask({ type: 'reserve', nodeId: 'p1', purpose: 'deploy', to: ['deploying'] }, 'reserved');
    paused.child.kill('SIGSTOP');
    await sleep(1_600);
    const survivor = d.local('survivor');
    await survivor.start();
    // The paused conductor's liveness lease expired too: it is listed offline, its record kept.
    expect((await survivor.listConductors()).map((c) => [c.id, c.online])).toEqual([
      ['sleeper', false],
      ['survivor', true],
    ]);
    const newer = await survivor.withNode('p1', { purpose: 'deploy' }, async (task) => {
      expect(task.node.provisionState).toBe('deploy failed'); // the paused holder's lease was found orphaned
      expect(task.node.lastError).toMatch(/"sleeper" held this node/);
      return task.transition('available', { lastError: null });
    });
    expect(newer.fence).toBeGreaterThan(Number(held.fence));
    paused.child.kill('SIGCONT');
    const written = await paused.ask({ type: 'write', nodeId: 'p1', to: 'wait call-back' }, 'written');
    expect(written).toMatchObject({ aborted: true, reason: 'LEASE_LOST', direct: 'STALE_FENCE' });
    expect(['LEASE_LOST', 'STALE_FENCE']).toContain(written.viaTask);
    expect(await d.nodes.get('p1')).toEqual(newer);
    paused.child.kill('SIGKILL');
    await paused.exited();
  });

  it('a conductor restarted under the id of a crashed incarnation fails its nodes at once, not after the TTL', async () => {
    const ttlMs = 30_000;
    const d = await deployment(ttlMs);
    const plan: [string, ProvisionStateValue, ProvisionStateValue[], ProvisionStateValue][] = [
      ['k-deploy', 'available', ['deploying', 'wait call-back'], 'deploy failed'],
      ['k-clean', 'manageable', ['cleaning'], 'clean failed'],
      ['k-inspect', 'manageable', ['inspecting'], 'inspect failed'],
      ['k-stable', 'active', [], 'active'],
    ];
    for (const [id, from] of plan) await d.nodes.create({ id, provisionState: from, maintenance: id === 'k-clean' });
    const crashed = d.spawn('phoenix');
    const { pid } = await crashed.next('ready');
    for (const [id, , to] of plan) await crashed.ask({ type: 'reserve', nodeId: id, purpose: 'work', to }, 'reserved');
    // A second conductor with the same id is refused while the first lives.
    const twin = d.local('phoenix');
    const refused = await twin.start().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConductorIdInUseError);
    expect(refused).toMatchObject({ conductorId: 'phoenix', pid });

    crashed.child.kill('SIGKILL');
    await crashed.exited();
    const started = performance.now();
    const reborn = d.local('phoenix');
    const recovered: string[] = [];
    reborn.on('nodeRecovered', (e) => recovered.push(`${e.nodeId}:${e.from}->${e.to}:${e.trigger}`));
    const record = await reborn.start();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(ttlMs / 3); // generous: it must not wait for the 30 s TTL
    expect(record.pid).toBe(process.pid);
    for (const [id, , , failed] of plan) expect((await d.nodes.get(id)).provisionState).toBe(failed);
    expect((await d.nodes.get('k-clean')).maintenance).toBe(true);
    expect(recovered.sort()).toEqual([
      'k-clean:cleaning->clean failed:restart',
      'k-deploy:wait call-back->deploy failed:restart',
      'k-inspect:inspecting->inspect failed:restart',
    ]);
    const leases = await reborn.options.locks.leases();
    expect(leases.map((l) => l.resource)).toEqual(['conductor:phoenix']);
    const listed = await reborn.listConductors();
    expect(listed).toMatchObject([{ id: 'phoenix', online: true, pid: process.pid }]);
  });
});
