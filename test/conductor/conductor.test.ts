// The conductor runtime in one process, against the shared standalone Redis and an in-memory node table.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Conductor,
  ConductorIdInUseError,
  ConductorStoppedError,
  InvalidNameError,
  InvalidOptionError,
  TaskReleasedError,
  InvalidStateError,
  LeaseLostError,
  LockManager,
  MemoryNodeStore,
  NodeLockedError,
  NodeNotFoundError,
  RedisBackend,
  RedisConductorRegistry,
  RedisEventLog,
  StaleFenceError,
  UnknownOptionError,
  UnknownStateError,
  nodeResource,
  type NodeFailedEvent,
  type NodeRecoveredEvent,
  type NodeTask,
  type ProvisionStateValue,
} from 'leasehold';
import { createRedisClient } from '../harness/clients.js';
import { standalone, standaloneClient, uniquePrefix } from '../harness/env.js';
import { eventually, sleep } from '../support/wait.js';

let redis: Redis;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  redis = standaloneClient();
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  redis.disconnect();
});

/** A world of one deployment: a prefix, a node table, and a way to make conductors in it. */
function world(ttlMs = 2_000) {
  const prefix = uniquePrefix('conductor');
  const nodes = new MemoryNodeStore();
  const registry = new RedisConductorRegistry(redis, { prefix });
  const managers: LockManager[] = [];
  const locks = (): LockManager => {
    const m = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs });
    managers.push(m);
    cleanup.push(() => m.close());
    return m;
  };
  const conductor = (id: string, extra: Partial<ConstructorParameters<typeof Conductor>[0]> = {}): Conductor => {
    const c = new Conductor({ id, locks: locks(), nodes, registry, lockRetry: { attempts: 2, intervalMs: 50 }, ...extra });
    cleanup.push(() => c.stop({ timeoutMs: 0 }));
    return c;
  };
  /** Node `id` left in `state` by a holder that died: its lease broken as if it expired, an orphan now. */
  const orphaned = async (id: string, state: ProvisionStateValue, purpose: string, extra: { maintenance?: boolean; targetState?: ProvisionStateValue } = {}): Promise<void> => {
    await nodes.create({ id, provisionState: 'available', maintenance: extra.maintenance ?? false });
    const dead = locks();
    const lease = await dead.acquire(nodeResource(id), { owner: 'conductor-gone', purpose });
    await nodes.transition(id, { from: ['available'], to: state, fence: lease.fence, targetState: extra.targetState ?? null });
    await dead.breakLease(nodeResource(id), { fence: lease.fence });
  };
  /** Every node write from now on waits `ms` first: a slow node table. */
  const slowWrites = (ms: number): void => {
    const transition = nodes.transition.bind(nodes);
    nodes.transition = async (nodeId, t) => {
      await sleep(ms);
      return transition(nodeId, t);
    };
  };
  /** A started conductor `id` and its task on a new node `nodeId`, in "available". */
  const taskOn = async (id: string, nodeId: string): Promise<{ c: Conductor; task: NodeTask }> => {
    await nodes.create({ id: nodeId, provisionState: 'available' });
    const c = conductor(id);
    await c.start();
    return { c, task: await c.reserve(nodeId, { purpose: 'deploy' }) };
  };
  return { prefix, nodes, registry, locks, conductor, managers, orphaned, slowWrites, taskOn };
}

describe('Conductor', () => {
  it('registers with a liveness lease, lists itself online, and goes offline on stop', async () => {
    const w = world();
    const a = w.conductor('conductor-a', { version: '1.2.3', drivers: ['ipmi', 'redfish'] });
    const record = await a.start();
    expect(await a.start()).toBe(record);
    expect(record).toMatchObject({ id: 'conductor-a', version: '1.2.3', drivers: ['ipmi', 'redfish'], pid: process.pid, stoppedAt: null, ttlMs: 2_000 });
    const [listed] = await a.listConductors();
    expect(listed).toMatchObject({ id: 'conductor-a', online: true });
    expect(listed!.lastHeartbeatAt).toBeGreaterThan(Date.now() - 3_000);
    expect(listed!.ttlLeftMs).toBeGreaterThan(0);
    await a.stop();
    await a.stop();
    expect(a.state).toBe('stopped');
    const [after] = await a.listConductors();
    expect(after).toMatchObject({ id: 'conductor-a', online: false, lastHeartbeatAt: null });
    expect(after!.stoppedAt).toBeGreaterThan(0);
    expect(await w.managers[0]!.leases()).toEqual([]);
  });

  it('says so when its liveness lease is lost, and registers again', async () => {
    const w = world(600);
    const a = w.conductor('a');
    const first = await a.start();
    const lost = eventually<LeaseLostError>((r) => a.once('livenessLost', r), 5_000, 'livenessLost');
    await w.locks().breakLease('conductor:a', { fence: first.fence });
    expect((await lost).resource).toBe('conductor:a');
    await eventually<void>((r) => {
      const poll = (): void => void a.listConductors().then(([c]) => (c?.online ? r() : setTimeout(poll, 50)));
      poll();
    }, 5_000, 'online again');
    expect(a.record!.fence).toBeGreaterThan(first.fence);
    expect(await w.registry.get('a')).toEqual(a.record);
  });

  it('a liveness lease lost while start() registers is noticed: it says so and registers again', async () => {
    const w = world(600);
    const registry = new RedisConductorRegistry(redis, { prefix: w.prefix });
    const put = registry.put.bind(registry);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    registry.put = async (record) => {
      if (first) {
        first = false;
        await released; // the registry is slow: the liveness lease is lost before this write lands
      }
      return put(record);
    };
    const a = w.conductor('late', { registry });
    const lost = eventually<LeaseLostError>((r) => a.once('livenessLost', r), 5_000, 'livenessLost');
    const starting = a.start();
    const locks = w.locks();
    let holder = (await locks.inspect('conductor:late')).holder;
    while (!holder) {
      await sleep(10);
      holder = (await locks.inspect('conductor:late')).holder;
    }
    await locks.breakLease('conductor:late', { fence: holder.fence });
    // A beat reports the lease lost (its manager then holds nothing), before anyone listens for it.
    await eventually<void>((r) => {
      const poll = (): void => void (a.options.locks.size === 0 ? r() : setTimeout(poll, 20));
      poll();
    }, 5_000, 'the liveness lease reported lost');
    release();
    await starting;
    // Before, the listener came after the loss: no livenessLost, no new registration, offline for good.
    expect((await lost).resource).toBe('conductor:late');
    await eventually<void>((r) => {
      const poll = (): void => void a.health().then((h) => (h.online ? r() : setTimeout(poll, 50)));
      poll();
    }, 5_000, 'online again');
    expect(a.record!.fence).toBeGreaterThan(holder.fence);
  });

  it('registering again fails while the registry is unreachable: the liveness lease goes back each time, then it registers', async () => {
    const w = world(600);
    const registryClient = createRedisClient(standalone(), { enableOfflineQueue: false, lazyConnect: true });
    await registryClient.connect();
    cleanup.push(() => Promise.resolve(registryClient.disconnect()));
    const a = w.conductor('r', { registry: new RedisConductorRegistry(registryClient, { prefix: w.prefix }) });
    const errors: unknown[] = [];
    a.on('error', (error) => errors.push(error));
    const first = await a.start();
    registryClient.disconnect(); // the registry's writes now fail at once
    const lost = eventually<LeaseLostError>((r) => a.once('livenessLost', r), 5_000, 'livenessLost');
    await w.locks().breakLease('conductor:r', { fence: first.fence });
    await lost;
    // Each attempt (every heartbeat, 200 ms) takes the lease and fails to register. Had the first failure kept the
    // lease, every later attempt would find it held by this conductor and fail silently: one error, never two.
    await eventually<void>((r) => {
      const poll = (): void => void (errors.length >= 2 ? r() : setTimeout(poll, 20));
      poll();
    }, 5_000, 'two failed registrations');
    expect(a.record!.fence).toBe(first.fence); // not registered: the record stays what the registry has
    await registryClient.connect();
    await eventually<void>((r) => {
      const poll = (): void => void (a.record!.fence !== first.fence ? r() : setTimeout(poll, 20));
      poll();
    }, 5_000, 'registered again');
    expect(await w.registry.get('r')).toEqual(a.record);
    expect((await w.locks().inspect('conductor:r')).holder?.fence).toBe(a.record!.fence);
  });

  it('stop() during a registration after a lost liveness lease leaves no liveness lease and a stopped record', async () => {
    const w = world(600);
    const registry = new RedisConductorRegistry(redis, { prefix: w.prefix });
    const put = registry.put.bind(registry);
    let slowPuts = false;
    let putStarted: () => void = () => undefined;
    const registering = new Promise<void>((resolve) => (putStarted = resolve));
    registry.put = async (record) => {
      if (slowPuts) {
        putStarted();
        await sleep(300); // the registry is slow: stop() comes while this write is in flight
      }
      return put(record);
    };
    const a = w.conductor('s', { registry });
    const first = await a.start();
    slowPuts = true;
    await w.locks().breakLease('conductor:s', { fence: first.fence });
    await registering; // the new liveness lease is taken; its registration is on its way
    await a.stop();
    expect((await w.locks().inspect('conductor:s')).holder).toBeNull(); // nothing heartbeated after stop
    expect(await w.registry.get('s')).toMatchObject({ fence: first.fence, stoppedAt: expect.any(Number) as number });
    slowPuts = false;
    const again = w.conductor('s', { registry });
    await again.start(); // the id is free: no ConductorIdInUseError
  });

  it('refuses a duplicate id while the other conductor lives, writing nothing', async () => {
    const w = world();
    const a = w.conductor('dup');
    const first = await a.start();
    const b = w.conductor('dup');
    const error = await b.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConductorIdInUseError);
    expect(error).toMatchObject({ conductorId: 'dup', pid: process.pid });
    expect((error as Error).message).toMatch(/in use by a live conductor/);
    expect(await w.registry.get('dup')).toEqual(first);
    expect(b.state).toBe('idle');
    await a.stop();
    await expect(b.start()).resolves.toMatchObject({ id: 'dup' });
  });

  it('refuses a duplicate id whose liveness lease is lost while its node leases live, breaking none of them', async () => {
    const w = world();
    const a = w.conductor('twin');
    const first = await a.start();
    await w.nodes.create({ id: 'tw-1', provisionState: 'available' });
    const task = await a.reserve('tw-1', { purpose: 'deploy' });
    await task.transition('deploying');
    // a's liveness lease is gone (as when its key's master failed), a still runs and renews its node lease.
    await w.locks().breakLease('conductor:twin', { fence: first.fence });
    const b = w.conductor('twin');
    const error = await b.start().catch((e: unknown) => e);
    // Before, b took the free liveness lease and "took over a crashed incarnation" without checking that it had
    // crashed: it broke a's node lease and failed its node mid-deploy.
    expect(error).toBeInstanceOf(ConductorIdInUseError);
    expect(error).toMatchObject({ conductorId: 'twin', pid: process.pid });
    expect((error as ConductorIdInUseError).ttlMs).toBeGreaterThan(0); // how long until its node leases would expire
    expect(b.state).toBe('idle');
    expect(task.lease.state).toBe('held');
    expect((await w.nodes.get('tw-1')).provisionState).toBe('deploying');
    expect(w.managers.at(-1)!.size).toBe(0); // b gave its liveness lease back (a may have taken its own again)
  });

  it('works a node under a fenced lease and releases it afterwards', async () => {
    const w = world();
    await w.nodes.create({ id: 'n1', provisionState: 'available', driver: 'ipmi' });
    const a = w.conductor('a');
    await a.start();
    const result = await a.withNode('n1', { purpose: 'deploy' }, async (task) => {
      expect(task.node).toMatchObject({ id: 'n1', provisionState: 'available' });
      expect(task.signal.aborted).toBe(false);
      const info = await w.managers[0]!.inspect(nodeResource('n1'));
      expect(info.holder).toMatchObject({ owner: 'a', purpose: 'deploy', fence: task.fence });
      await task.transition('deploying', { targetState: 'active' });
      await task.transition('wait call-back');
      const done = await task.transition('active', { targetState: null });
      expect(done).toMatchObject({ provisionState: 'active', fence: task.fence, targetState: null });
      expect(task.node).toBe(done);
      return 'deployed';
    });
    expect(result).toBe('deployed');
    expect((await w.managers[0]!.inspect(nodeResource('n1'))).holder).toBeNull();
    expect(a.activeTasks).toBe(0);
  });

  it('releases the node when the work throws', async () => {
    const w = world();
    await w.nodes.create({ id: 'n1', provisionState: 'available' });
    const a = w.conductor('a');
    await a.start();
    await expect(a.withNode('n1', { purpose: 'deploy' }, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect((await w.managers[0]!.inspect(nodeResource('n1'))).holder).toBeNull();
  });

  it('fails a node its work left mid-operation (a throw, or a release in a held state) before releasing it', async () => {
    const w = world();
    for (const id of ['thrown', 'waiting', 'released', 'stable']) await w.nodes.create({ id, provisionState: 'available' });
    const a = w.conductor('a');
    await a.start();
    const failed: NodeFailedEvent[] = [];
    a.on('nodeFailed', (event) => failed.push(event));

    // The work throws while the node is "deploying": Ironic's "stuck in deploying" without any crash. It is failed,
    // fenced with the task's lease, with the error in last_error, and the error still reaches the caller.
    let fence = 0;
    await expect(a.withNode('thrown', { purpose: 'deploy' }, async (task) => {
      fence = task.fence;
      await task.transition('deploying', { targetState: 'active' });
      throw new Error('BMC timed out');
    })).rejects.toThrow('BMC timed out');
    const thrown = await w.nodes.get('thrown');
    expect(thrown).toMatchObject({ provisionState: 'deploy failed', targetState: null, fence });
    expect(thrown.lastError).toContain('Error: BMC timed out');
    expect(thrown.lastError).toContain('conductor "a"');
    expect((await w.managers[0]!.inspect(nodeResource('thrown'))).holder).toBeNull();

    // A throw in a wait state fails it too (the operation failed); a plain release there leaves it waiting, unheld.
    await expect(a.withNode('waiting', { purpose: 'clean' }, async (task) => {
      await task.transition('cleaning');
      await task.transition('clean wait');
      throw new Error('agent unreachable');
    })).rejects.toThrow('agent unreachable');
    expect(await w.nodes.get('waiting')).toMatchObject({ provisionState: 'clean failed' });
    await a.withNode('stable', { purpose: 'clean' }, async (task) => {
      await task.transition('cleaning');
      await task.transition('clean wait');
    });
    expect(await w.nodes.get('stable')).toMatchObject({ provisionState: 'clean wait' });

    // reserve() + release() in a state that needs its holder: failed, with no error to report.
    const task = await a.reserve('released', { purpose: 'inspect' });
    await task.transition('inspecting');
    await task.release();
    expect(await w.nodes.get('released')).toMatchObject({ provisionState: 'inspect failed' });
    expect((await w.nodes.get('released')).lastError).toContain('released before the operation finished');
    // A released task writes nothing more: a typed error that says to reserve again, and the node is untouched.
    await expect(task.transition('inspecting')).rejects.toMatchObject({ name: 'TaskReleasedError', code: 'TASK_RELEASED', nodeId: 'released', fence: task.fence });
    await expect(task.transition('inspecting')).rejects.toThrow(TaskReleasedError);
    expect(await w.nodes.get('released')).toMatchObject({ provisionState: 'inspect failed' });

    expect(failed.map(({ nodeId, from, to }) => [nodeId, from, to])).toEqual([
      ['thrown', 'deploying', 'deploy failed'],
      ['waiting', 'clean wait', 'clean failed'],
      ['released', 'inspecting', 'inspect failed'],
    ]);
    expect(failed[0]!.error).toBeInstanceOf(Error);
    expect(failed[2]!.error).toBeNull();
  });

  it('writes nothing for a task whose lease was lost: the newer holder owns the node', async () => {
    const w = world(400);
    await w.nodes.create({ id: 'n1', provisionState: 'available' });
    const [a, b] = [w.conductor('a'), w.conductor('b')];
    await Promise.all([a.start(), b.start()]);
    const failed: NodeFailedEvent[] = [];
    a.on('nodeFailed', (event) => failed.push(event));
    const work = a.withNode('n1', { purpose: 'deploy' }, async (task) => {
      await task.transition('deploying');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000); // paused past the lease
      throw new Error('late');
    }).catch((error: unknown) => error);
    expect(await work).toBeInstanceOf(Error);
    const newer = await b.reserve('n1', { purpose: 'deploy' });
    expect(newer.node.provisionState).toBe('deploy failed'); // b's take-over of a's orphan, not a's own write
    expect(failed).toEqual([]);
    await newer.release();
  });

  it('rejects a node held by another conductor with NodeLockedError after its bounded retries', async () => {
    const w = world();
    await w.nodes.create({ id: 'n1', provisionState: 'available' });
    const [a, b] = [w.conductor('a'), w.conductor('b', { lockRetry: { attempts: 3, intervalMs: 100 } })];
    await Promise.all([a.start(), b.start()]);
    const task = await a.reserve('n1', { purpose: 'clean' });
    const started = performance.now();
    const error = await b.withNode('n1', { purpose: 'deploy' }, () => 'never').catch((e: unknown) => e);
    const waited = performance.now() - started;
    expect(error).toBeInstanceOf(NodeLockedError);
    expect(error).toMatchObject({ code: 'NODE_LOCKED', nodeId: 'n1', attempts: 3, holder: { owner: 'a', purpose: 'clean', fence: task.fence } });
    expect((error as Error).message).toContain('conductor "a"');
    expect(waited).toBeGreaterThanOrEqual(190); // two intervals between three attempts
    await task.release();
    await expect(b.withNode('n1', { purpose: 'deploy' }, (t) => t.fence)).resolves.toBeGreaterThan(task.fence);
  });

  it('fails a node whose previous holder died mid-operation before running any work on it', async () => {
    const w = world();
    await w.orphaned('n1', 'deploying', 'deploy', { maintenance: true, targetState: 'active' });
    const a = w.conductor('a');
    await a.start();
    const recovered = eventually<NodeRecoveredEvent>((r) => a.once('nodeRecovered', r), 5_000, 'nodeRecovered');
    const seen = await a.withNode('n1', { purpose: 'deploy' }, (task) => task.node);
    expect(seen).toMatchObject({ provisionState: 'deploy failed', targetState: null, maintenance: true });
    expect(seen.lastError).toMatch(/"conductor-gone" held this node \(lease fence \d+, purpose "deploy"\).*"deploying".*"deploy failed" by conductor "a"/);
    expect(await recovered).toMatchObject({ nodeId: 'n1', from: 'deploying', to: 'deploy failed', previous: { owner: 'conductor-gone' }, trigger: 'acquire' });
  });

  it('a reservation that stop() refuses after taking over an orphan fails the stuck node first, never erasing the orphan', async () => {
    const w = world();
    await w.orphaned('n1', 'deploying', 'deploy');
    const a = w.conductor('a');
    await a.start();
    const stopping: Promise<void>[] = [];
    w.managers[1]!.once('acquired', () => void stopping.push(a.stop())); // the node's lease is granted, then stop() comes
    await expect(a.reserve('n1', { purpose: 'deploy' })).rejects.toBeInstanceOf(ConductorStoppedError);
    expect(stopping).toHaveLength(1);
    await Promise.all(stopping);
    expect((await w.nodes.get('n1')).provisionState).toBe('deploy failed');
    const info = await w.managers[0]!.inspect(nodeResource('n1'));
    expect(info.holder).toBeNull();
    expect(info.orphan).toBeNull();
  });

  it('a reservation that cannot fail the stuck node it took over leaves the node an orphan for recovery', async () => {
    const w = world();
    await w.orphaned('n1', 'cleaning', 'clean');
    const a = w.conductor('a');
    await a.start();
    const transition = w.nodes.transition.bind(w.nodes);
    w.nodes.transition = () => Promise.reject(new Error('database unreachable')); // the node table fails for a moment
    await expect(a.reserve('n1', { purpose: 'deploy' })).rejects.toThrow('database unreachable');
    w.nodes.transition = transition;
    expect((await w.nodes.get('n1')).provisionState).toBe('cleaning');
    const orphans = await w.managers[0]!.orphans();
    expect(orphans.map((o) => o.resource)).toEqual([nodeResource('n1')]); // recovery finds it, and fails it
    expect(orphans[0]!.holder).toMatchObject({ owner: 'conductor-gone', purpose: 'clean' }); // naming the dead holder
  });

  it('takes over an orphan in a stable state without writing the node', async () => {
    const w = world();
    const created = await w.nodes.create({ id: 'n1', provisionState: 'active' });
    const dead = w.locks();
    const lease = await dead.acquire(nodeResource('n1'), { owner: 'gone' });
    await dead.breakLease(nodeResource('n1'), { fence: lease.fence });
    const a = w.conductor('a');
    await a.start();
    expect(await a.withNode('n1', { purpose: 'look' }, (task) => task.node)).toEqual(created);
    expect((await w.managers[0]!.inspect(nodeResource('n1'))).orphan).toBeNull();
  });

  it('rejects writes of a holder that lost its lease: the task by its signal, the store by the fence', async () => {
    const w = world(400);
    await w.nodes.create({ id: 'n1', provisionState: 'available' });
    const [a, b] = [w.conductor('a'), w.conductor('b')];
    await Promise.all([a.start(), b.start()]);
    const task = await a.reserve('n1', { purpose: 'deploy' });
    await task.transition('deploying');
    const lost = eventually<LeaseLostError>((r) => a.once('taskLost', (_id, e) => r(e)), 5_000, 'taskLost');
    // Pause this whole process past the lease (Atomics.wait blocks the event loop like a GC pause would).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
    const newer = await b.reserve('n1', { purpose: 'deploy' });
    expect(newer.node.provisionState).toBe('deploy failed'); // b found a's lease orphaned
    await newer.transition('available', { lastError: null });
    await lost;
    expect(task.signal.aborted).toBe(true);
    expect(task.signal.reason).toBeInstanceOf(LeaseLostError);
    await expect(task.transition('wait call-back')).rejects.toBeInstanceOf(LeaseLostError);
    await expect(w.nodes.transition('n1', { from: ['deploying', 'available'], to: 'wait call-back', fence: task.fence })).rejects.toBeInstanceOf(StaleFenceError);
    expect(await w.nodes.get('n1')).toMatchObject({ provisionState: 'available', fence: newer.fence });
    await task.release();
    await newer.release();
  });

  it('stop() waits for a reservation that is failing the orphan it took over, then the lease is not left held', async () => {
    const w = world();
    await w.orphaned('slow-orphan', 'wait call-back', 'deploy');
    w.slowWrites(300); // stop() comes while the orphan's node is being failed
    const a = w.conductor('stopper');
    await a.start();
    const order: string[] = [];
    const reserving = a.reserve('slow-orphan', { purpose: 'deploy' }).then(
      () => order.push('reserved'),
      (error: unknown) => order.push(error instanceof ConductorStoppedError ? 'refused' : String(error)),
    );
    // The lease is taken; the node is being failed.
    await eventually<void>((r) => {
      const poll = (): void => void (a.options.locks.size === 2 ? r() : setTimeout(poll, 10)); // liveness + node
      poll();
    }, 5_000, 'the reservation holding its lease');
    await a.stop();
    order.push('stopped');
    await reserving;
    // Before, stop() resolved at once (no task yet): its caller could close the lock manager, whose release of this
    // lease would erase the orphan record before the node was failed.
    expect(order).toEqual(['refused', 'stopped']);
    expect((await w.nodes.get('slow-orphan')).provisionState).toBe('deploy failed');
    expect((await w.managers[0]!.inspect(nodeResource('slow-orphan'))).holder).toBeNull();
  });

  it('stop() that gives up on a task waits for the write it has in flight before deciding the node is safe to leave', async () => {
    const w = world();
    const { c: a, task } = await w.taskOn('writer', 'mid-write');
    w.slowWrites(300); // the write is still on its way when stop() gives up
    const writing = task.transition('deploying').catch((error: unknown) => error); // sent at once
    await a.stop({ timeoutMs: 0 });
    await writing;
    // Before, stop() judged the node by the state the task saw before the write ("available"), released the lease,
    // and the write landed after: "deploying" with no holder, the very thing stop() is there to prevent.
    expect((await w.nodes.get('mid-write')).provisionState).toBe('deploy failed');
  });

  it('a task writes nothing once its lease was released behind its back (the lock manager closed)', async () => {
    const w = world();
    const { c: a, task } = await w.taskOn('closer', 'after-close');
    await a.options.locks.close(); // releases every lease it holds, this task's included
    expect(task.lease.state).toBe('released');
    await expect(task.transition('deploying')).rejects.toBeInstanceOf(TaskReleasedError);
    expect((await w.nodes.get('after-close')).provisionState).toBe('available');
  });

  it('stop() lets tasks finish within the timeout, aborts the rest, and leaves no lease behind', async () => {
    const w = world();
    for (let i = 0; i < 6; i++) await w.nodes.create({ id: `n${i}`, provisionState: 'available' });
    const a = w.conductor('a');
    await a.start();
    const quick = [0, 1, 2].map((i) => a.withNode(`n${i}`, { purpose: 'quick' }, async (task) => {
      await sleep(100);
      return (await task.transition('manageable')).provisionState;
    }));
    const slow = [3, 4].map((i) => a.withNode(`n${i}`, { purpose: 'slow' }, async (task) => {
      await new Promise((_, reject) => task.signal.addEventListener('abort', () => reject(task.signal.reason as Error), { once: true }));
    }).catch((error: unknown) => error));
    const background: NodeTask = await a.reserve('n5', { purpose: 'background deploy' });
    await sleep(20);
    const stopping = a.stop({ timeoutMs: 500 });
    await expect(a.reserve('n0', { purpose: 'late' })).rejects.toBeInstanceOf(ConductorStoppedError);
    expect(await Promise.all(quick)).toEqual(['manageable', 'manageable', 'manageable']);
    for (const s of slow) expect(await s).toBeInstanceOf(ConductorStoppedError);
    await stopping;
    expect(background.signal.aborted).toBe(true);
    await expect(background.transition('deploying')).rejects.toBeInstanceOf(Error);
    expect(await w.managers[0]!.leases()).toEqual([]);
    expect(a.activeTasks).toBe(0);
    expect((await a.listConductors())[0]).toMatchObject({ online: false });
  });

  it('rejects bad input with typed errors and writes nothing', async () => {
    const w = world();
    await w.nodes.create({ id: 'n1', provisionState: 'available' });
    const a = w.conductor('a');
    const bad = (v: unknown): never => v as never;
    await expect(a.reserve('n1', { purpose: 'x' })).rejects.toBeInstanceOf(ConductorStoppedError); // not started
    const starting = a.start();
    await expect(a.reserve('n1', { purpose: 'x' })).rejects.toThrow(/still starting; await start\(\)/);
    await starting;
    await expect(a.withNode('missing', { purpose: 'deploy' }, () => 1)).rejects.toBeInstanceOf(NodeNotFoundError);
    expect((await w.managers[0]!.inspect(nodeResource('missing'))).lastFence).toBe(0);
    await expect(a.withNode('', { purpose: 'deploy' }, () => 1)).rejects.toBeInstanceOf(InvalidNameError);
    await expect(a.withNode('n1', { purpose: '' }, () => 1)).rejects.toBeInstanceOf(InvalidNameError);
    await expect(a.withNode('n1', bad({ purpose: 'x', retries: 3 }), () => 1)).rejects.toBeInstanceOf(UnknownOptionError);
    await a.withNode('n1', { purpose: 'deploy' }, async (task) => {
      await expect(task.transition(bad('deployed'))).rejects.toBeInstanceOf(UnknownStateError);
      await expect(task.transition('active', { from: ['deploying'] })).rejects.toBeInstanceOf(InvalidStateError);
      await expect(task.transition('active', bad({ force: true }))).rejects.toBeInstanceOf(UnknownOptionError);
    });
    expect(await w.nodes.get('n1')).toMatchObject({ provisionState: 'available', fence: 0 });
    expect(() => new Conductor(bad(undefined))).toThrow(InvalidOptionError);
    expect(() => new RedisConductorRegistry(bad({}))).toThrow(InvalidOptionError);
    expect(() => new RedisEventLog(bad(null), 'recovery-events')).toThrow(InvalidOptionError);
    expect(() => w.conductor('')).toThrow(InvalidNameError);
    expect(() => w.conductor('x', bad({ locks: {} }))).toThrow(InvalidOptionError);
    expect(() => w.conductor('x', bad({ nodes: null }))).toThrow(InvalidOptionError);
    expect(() => w.conductor('x', { lockRetry: { attempts: 0 } })).toThrow(InvalidOptionError);
    expect(() => w.conductor('x', bad({ drivers: 'ipmi' }))).toThrow(InvalidOptionError);
    expect(() => w.conductor('x', bad({ policy: { deploying: 'nowhere' } }))).toThrow(UnknownStateError);
    expect(() => w.conductor('x', bad({ colour: 'red' }))).toThrow(UnknownOptionError);
  });
});
