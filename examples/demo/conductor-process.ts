// One conductor process of the demo, wired as a conductor service would be: it builds its Redis client, node
// store, lock manager and registry, and hands them to a Conductor and a RecoveryManager (constructor injection).
// The demo (its parent, acting as the API) orders operations over IPC; this process reports what its locks and
// writes did, with timestamps, so the parent can check the invariants itself.
//
// Each conductor process runs a RecoveryManager beside its Conductor, as the README recommends: no extra service
// to deploy or to lose, and when one conductor dies the survivors' managers race for its orphans, the lock letting
// exactly one recover each node.
//
// Started by examples/demo.ts with LEASEHOLD_DEMO_CONDUCTOR = JSON { redisUrl, prefix, id, ttlMs, sweepMs }.
import { Redis } from 'ioredis';
import { Conductor, LockManager, RecoveryManager, RedisBackend, RedisConductorRegistry, RedisNodeStore, type Lease } from 'leasehold';
import type { ConductorEvent, Order, Report } from './protocol.js';
import { runOperation, type OperationContext } from './run-operation.js';

interface Config {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly id: string;
  readonly ttlMs: number;
  readonly sweepMs: number;
}

const config = JSON.parse(process.env.LEASEHOLD_DEMO_CONDUCTOR ?? 'null') as Config | null;
if (!config || !process.send) throw new Error('examples/demo/conductor-process.ts is started by examples/demo.ts');
const { redisUrl, prefix, id, ttlMs, sweepMs } = config;

const send = (event: ConductorEvent): void => {
  if (!process.connected) return;
  const report: Report = { ...event, conductor: id, wall: Date.now(), mono: performance.now() };
  process.send?.(report);
};
const text = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

// The wiring: everything the library uses is handed in.
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
redis.on('error', (error) => send({ type: 'notice', message: `redis: ${text(error)}` }));
const nodes = new RedisNodeStore(redis, { prefix });
const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs });
const conductor = new Conductor({
  id,
  locks,
  nodes,
  registry: new RedisConductorRegistry(redis, { prefix }),
  drivers: ['ipmi', 'redfish'],
  version: 'demo',
  lockRetry: { attempts: 1, intervalMs: 0 }, // the demo's dispatcher retries a locked node itself
  stopTimeoutMs: 4 * ttlMs, // long enough for a running operation to finish
});
const recovery = new RecoveryManager({ locks, nodes, subscriber: redis, sweepIntervalMs: sweepMs, id });

// What the lock layer did, from its own events: every lease this process takes (node tasks, recovery, liveness).
locks.on('acquired', (lease: Lease) => {
  const { resource, owner, fence } = lease;
  send({
    type: 'lease-acquired',
    resource,
    owner,
    fence,
    acquiredAt: lease.acquiredAt,
    validUntil: lease.validUntil,
    previous: lease.previous ? { owner: lease.previous.owner, fence: lease.previous.fence } : null,
  });
  lease.on('extended', ({ validUntil }) => send({ type: 'lease-extended', resource, fence, validUntil }));
  // `released` fires when release() is called, before Redis is asked: the holder stopped acting then.
  lease.once('released', () => send({ type: 'lease-ended', resource, fence, how: 'released', reason: null }));
  lease.once('lost', (error) => send({ type: 'lease-ended', resource, fence, how: 'lost', reason: error.reason }));
});
locks.on('error', (error) => send({ type: 'notice', message: `locks: ${text(error)}` }));

const context: OperationContext = { conductor, nodes, reserving: new Map(), wrote: (w) => send({ type: 'write', ...w }) };
const orphanedAt = new Map<string, number>();

recovery.on('orphaned', (e) => orphanedAt.set(e.nodeId, Date.now()));
recovery.on('recovered', (e) => {
  const previous = { owner: e.previous.owner, fence: e.previous.fence };
  const sentAt = orphanedAt.get(e.nodeId) ?? Date.now();
  orphanedAt.delete(e.nodeId);
  send({ type: 'write', nodeId: e.nodeId, kind: 'recovery', fence: e.fence, from: e.from, to: e.to, outcome: 'ok', storedFence: null, sentAt, answeredAt: Date.now(), error: null });
  send({ type: 'recovered', nodeId: e.nodeId, from: e.from, to: e.to, fence: e.fence, previous, trigger: e.trigger, by: recovery.owner });
});
recovery.on('skipped', (e) => send({ type: 'recovery-skipped', nodeId: e.nodeId, reason: e.reason }));
recovery.on('failed', (e) => send({ type: 'notice', message: `recovery of ${e.nodeId} failed: ${text(e.error)}` }));
recovery.on('degraded', (message) => send({ type: 'notice', message: `recovery: ${message}` }));
recovery.on('error', (error) => send({ type: 'notice', message: `recovery: ${text(error)}` }));

conductor.on('nodeRecovered', (e) => {
  const sentAt = context.reserving.get(e.nodeId) ?? Date.now();
  send({ type: 'write', nodeId: e.nodeId, kind: 'takeover', fence: e.fence, from: e.from, to: e.to, outcome: 'ok', storedFence: null, sentAt, answeredAt: Date.now(), error: null });
  send({ type: 'recovered', nodeId: e.nodeId, from: e.from, to: e.to, fence: e.fence, previous: { owner: e.previous.owner, fence: e.previous.fence }, trigger: e.trigger, by: id });
});
conductor.on('livenessLost', (error) => send({ type: 'notice', message: `liveness lease lost (${error.reason}); registering again` }));
conductor.on('error', (error) => send({ type: 'notice', message: `conductor: ${text(error)}` }));

let stopping: Promise<void> | null = null;
function stop(): Promise<void> {
  stopping ??= (async () => {
    await recovery.stop();
    await conductor.stop();
    await locks.close();
    send({ type: 'stopped' });
    redis.disconnect();
    process.disconnect?.();
    setTimeout(() => process.exit(0), 1_000).unref();
  })();
  return stopping;
}

process.on('message', (order: Order) => {
  if (order.type === 'stop') {
    void stop();
    return;
  }
  void runOperation(context, order).then(({ outcome, detail }) => send({ type: 'op-done', opId: order.opId, nodeId: order.nodeId, outcome, detail }));
});
// The parent handles Ctrl-C for the whole demo and stops us; if it dies, our leases expire by their TTL.
process.on('SIGINT', () => undefined);
process.on('disconnect', () => {
  if (!stopping) process.exit(1);
});

await conductor.start();
await recovery.start();
send({ type: 'ready', pid: process.pid });
