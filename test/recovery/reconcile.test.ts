// Reconcile passes: nodes left mid-operation that no lease and no orphan record names any more. Sweeps and expiry
// events cannot see them: here a real Redis restarted without persistence forgot every lease while a conductor
// was deploying and cleaning.
import { afterEach, describe, expect, it } from 'vitest';
import {
  BackendError,
  Conductor,
  InvalidTtlError,
  LockManager,
  MemoryNodeStore,
  RecoveryManager,
  RedisBackend,
  RedisConductorRegistry,
  RedisEventLog,
  nodeResource,
  type FailedEvent,
  type Node,
  type ReconciledEvent,
} from '../../src/index.js';
import { eventLine } from '../../src/recovery/cli/format.js';
import { RedisServer } from '../harness/redis-server.js';
import { standaloneClient, uniquePrefix } from '../harness/env.js';
import { eventually, sleep, waitFor } from '../support/wait.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

/** A node table whose next read of a chosen node fails once, as a store does in a brief outage. */
class BlinkingNodeStore extends MemoryNodeStore {
  readonly failNextGet = new Set<string>();
  override get(id: string): Promise<Node> {
    if (this.failNextGet.delete(id)) return Promise.reject(new BackendError(`node table unreachable while reading "${id}"`));
    return super.get(id);
  }
}

describe('RecoveryManager reconcile', () => {
  it('a reconcile attempt that fails leaves no orphan behind: the next pass fails the node, as a reconcile', async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.stop());
    const redis = server.client();
    cleanups.push(() => redis.disconnect());
    const nodes = new BlinkingNodeStore();
    await nodes.create({ id: 'forgotten', provisionState: 'available' });
    await nodes.transition('forgotten', { from: ['available'], to: 'deploying', fence: 1 }); // its lease is gone
    nodes.failNextGet.add('forgotten');
    const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: 'blink' }), ttlMs: 5_000 });
    cleanups.push(() => locks.close());
    // Sweeps far apart: an orphan left by the failed attempt would wait here to be seen.
    const recovery = new RecoveryManager({ locks, nodes, sweepIntervalMs: 60_000, reconcileIntervalMs: 300 });
    cleanups.push(() => recovery.stop());
    recovery.on('error', () => undefined);
    const failed = eventually<FailedEvent>((resolve) => recovery.once('failed', resolve), 10_000, 'the failed attempt');
    const reconciled = eventually<ReconciledEvent>((resolve) => recovery.once('reconciled', resolve), 10_000, 'the next pass');
    await recovery.start();
    expect((await failed).nodeId).toBe('forgotten');
    await waitFor(async () => (await locks.inspect(nodeResource('forgotten'))).holder === null, 5_000); // given back
    // Before, the attempt gave its lease back as an orphan of its own (it took over none): the next sweep would
    // then fail the node as that orphan's, even after its conductor had moved it on to wait for its agent.
    expect(await locks.orphans()).toEqual([]);
    expect(await reconciled).toMatchObject({ nodeId: 'forgotten', from: 'deploying', to: 'deploy failed' });
  });

  it('fails the nodes a Redis restarted empty forgot, leaves waiting, stable and held nodes alone, once each', async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.stop());
    const nodes = new MemoryNodeStore();
    const prefix = 'reconcile';
    for (const id of ['deploying', 'cleaning', 'waiting', 'active', 'held']) await nodes.create({ id, provisionState: 'available' });

    // conductor-a works on four nodes; its connection then dies with it (no release, no heartbeat ever again).
    const doomedClient = server.client({ maxRetriesPerRequest: 0, retryStrategy: () => null });
    cleanups.push(() => doomedClient.disconnect());
    const doomed = new LockManager({ backend: new RedisBackend(doomedClient, { prefix }), ttlMs: 5_000 });
    doomed.on('error', () => undefined);
    const path: Record<string, string[]> = { deploying: ['deploying'], cleaning: ['cleaning'], waiting: ['deploying', 'wait call-back'], active: ['deploying', 'active'] };
    for (const [id, states] of Object.entries(path)) {
      const lease = await doomed.acquire(nodeResource(id), { owner: 'conductor-a', purpose: 'provision' });
      let from = 'available';
      for (const to of states) {
        await nodes.transition(id, { from: [from as 'available'], to: to as 'deploying', fence: lease.fence });
        from = to;
      }
    }
    doomedClient.disconnect();

    // Redis restarts with no persistence: every lease and every orphan record is gone. Sweeps see nothing.
    await server.restart();
    const redis = server.client({ maxRetriesPerRequest: null, retryStrategy: () => 50 });
    cleanups.push(() => redis.disconnect());
    const locks = (): LockManager => {
      const m = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: 5_000 });
      cleanups.push(() => m.close());
      return m;
    };
    // conductor-b deploys "held" after the restart and holds it throughout: a reconcile must not touch it.
    const b = new Conductor({ id: 'conductor-b', locks: locks(), nodes, registry: new RedisConductorRegistry(redis, { prefix }) });
    cleanups.push(() => b.stop({ timeoutMs: 0 }));
    await b.start();
    const task = await b.reserve('held', { purpose: 'deploy' });
    await task.transition('deploying');

    const eventLog = new RedisEventLog(redis, 'recovery-events', { prefix });
    const recovery = new RecoveryManager({ locks: locks(), nodes, sweepIntervalMs: 100, reconcileIntervalMs: 100, eventLog });
    cleanups.push(() => recovery.stop());
    const reconciled: ReconciledEvent[] = [];
    recovery.on('reconciled', (event) => reconciled.push(event));
    const recovered: unknown[] = [];
    recovery.on('recovered', (event) => recovered.push(event));
    await recovery.start();
    expect(await locks().orphans()).toEqual([]); // nothing for a sweep to find
    await eventually<void>((done) => {
      const check = (): void => void (reconciled.length >= 2 ? done() : setTimeout(check, 20));
      check();
    }, 10_000, 'two reconciled nodes');
    await sleep(500); // several more passes: nothing is reconciled twice

    expect(reconciled.map((e) => [e.nodeId, e.from, e.to]).sort()).toEqual([
      ['cleaning', 'cleaning', 'clean failed'],
      ['deploying', 'deploying', 'deploy failed'],
    ]);
    expect(reconciled[0]!.lastHolder).toBeNull(); // Redis kept no record of conductor-a
    const deploying = await nodes.get('deploying');
    expect(deploying).toMatchObject({ provisionState: 'deploy failed', targetState: null, fence: expect.any(Number) as number });
    expect(deploying.lastError).toContain('no live lease and no orphan record');
    expect(deploying.fence).toBeGreaterThan(0);
    expect(await nodes.get('waiting')).toMatchObject({ provisionState: 'wait call-back' }); // waits for its agent, unheld
    expect(await nodes.get('active')).toMatchObject({ provisionState: 'active' });
    expect(await nodes.get('held')).toMatchObject({ provisionState: 'deploying', fence: task.fence });
    expect(task.lease.state).toBe('held');
    expect(recovered).toEqual([]);
    const counters = recovery.counters();
    expect(counters.reconciled).toBe(2);
    expect(counters.reconciles).toBeGreaterThanOrEqual(3);
    expect(counters.failed).toBe(0);
    // The recovery leases were released: nothing held but conductor-b's node and liveness leases.
    expect((await locks().leases()).map((l) => l.resource).sort()).toEqual(['conductor:conductor-b', nodeResource('held')]);
    // `leasehold watch` prints the published event.
    const published = (await eventLog.tail(100)).filter((entry) => entry.type === 'reconciled');
    expect(published).toHaveLength(2);
    expect(eventLine(published[0]!)).toMatch(/reconciled node "?(deploying|cleaning)"?: .* no live lease and no orphan record, last holder on record: none/);
    await task.release();
  });

  it('is on by default every minute, off with null, and refuses bad intervals with a typed error', () => {
    const redis = standaloneClient();
    cleanups.push(() => redis.disconnect());
    const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: uniquePrefix('reconcile') }), ttlMs: 1_000 });
    cleanups.push(() => locks.close());
    const nodes = new MemoryNodeStore();
    expect(new RecoveryManager({ locks, nodes }).options.reconcileIntervalMs).toBe(60_000);
    expect(new RecoveryManager({ locks, nodes, reconcileIntervalMs: null }).options.reconcileIntervalMs).toBeNull();
    for (const bad of [0, 9, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '1000']) {
      expect(() => new RecoveryManager({ locks, nodes, reconcileIntervalMs: bad as number })).toThrow(InvalidTtlError);
    }
  });
});
