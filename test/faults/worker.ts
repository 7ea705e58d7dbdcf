// A worker process of the fault scenarios: it takes node leases again and again, writes the node with each lease's
// fence (to a node store on a Redis of its own, so a fault on the lock Redis never hides a stale write from the
// store), releases, and records everything in the shared history.
//
// env: LOCK_URL (may point at a fault proxy), STORE_URL, PREFIX, WHO, HISTORY, TTL_MS, RESOURCES (count),
//      DURATION_MS, IGNORE_SIGNAL=1 (a careless holder: goes on writing after its lease is lost, so the fence must
//      stop it)
// IPC: { type: 'block', ms } blocks the event loop for ms (as a long GC pause or a CPU-bound bug would).
import { Redis } from 'ioredis';
import {
  LockManager,
  RedisBackend,
  RedisNodeStore,
  StaleFenceError,
  failStuckNode,
  nodeResource,
  resolveFailurePolicy,
  type Lease,
} from '../../src/index.js';
import { HistoryWriter, now } from './history.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`fault worker needs ${name}`);
  return value;
};
const history = new HistoryWriter(env('HISTORY'), env('WHO'));
const lockRedis = new Redis(env('LOCK_URL'), { maxRetriesPerRequest: 1, connectTimeout: 1_000 });
const storeRedis = new Redis(env('STORE_URL'), { maxRetriesPerRequest: 1 });
lockRedis.on('error', () => undefined);
storeRedis.on('error', () => undefined);
const ttlMs = Number(env('TTL_MS'));
const locks = new LockManager({ backend: new RedisBackend(lockRedis, { prefix: env('PREFIX') }), ttlMs });
locks.on('error', () => undefined); // failures show up as losses, which are recorded
const store = new RedisNodeStore(storeRedis, { prefix: env('PREFIX') });
const resources = Number(env('RESOURCES'));
const ignoreSignal = process.env.IGNORE_SIGNAL === '1';
const policy = resolveFailurePolicy();
const end = now() + Number(env('DURATION_MS'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

process.on('message', (m: { type: string; ms: number }) => {
  if (m.type === 'block') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, m.ms);
});

function track(lease: Lease): void {
  const valid = (): void => history.record({ kind: 'valid', resource: lease.resource, fence: lease.fence, until: now() + lease.remainingMs });
  valid();
  lease.on('extended', valid);
  lease.on('lost', (e) => history.record({ kind: 'lost', resource: lease.resource, fence: lease.fence, reason: e.reason }));
}

async function write(nodeId: string, resource: string, fence: number, to: 'cleaning' | 'manageable'): Promise<void> {
  const sentAt = now();
  try {
    await store.transition(nodeId, { from: ['manageable', 'cleaning', 'clean failed'], to, fence });
    history.record({ kind: 'write-ok', resource, fence, sentAt });
  } catch (error) {
    const code = error instanceof StaleFenceError ? 'STALE_FENCE' : ((error as { code?: string }).code ?? String(error));
    history.record({ kind: 'write-rejected', resource, fence, error: code, sentAt });
  }
}

while (now() < end) {
  const nodeId = `r${Math.floor(Math.random() * resources)}`;
  const resource = nodeResource(nodeId);
  let lease: Lease | null = null;
  try {
    lease = await locks.tryAcquire(resource, { owner: env('WHO'), purpose: 'clean', waitMs: 200 });
  } catch {
    lease = null; // Redis unreachable: try again
  }
  if (!lease) {
    history.record({ kind: 'acquire-fail', resource });
    await sleep(20);
    continue;
  }
  history.record({ kind: 'acquire-ok', resource, fence: lease.fence, previousFence: lease.previous?.fence ?? null });
  track(lease);
  if (lease.previous) {
    // The acquire path of recovery, as a Conductor does it: a node whose holder died mid-work is failed first.
    try {
      const outcome = await failStuckNode(store, policy, { nodeId, fence: lease.fence, previous: lease.previous, actor: env('WHO'), trigger: 'acquire' });
      if (outcome.outcome === 'failed') history.record({ kind: 'recovered', resource, fence: lease.fence, previousFence: lease.previous.fence, to: outcome.to });
      else history.record({ kind: 'recovered', resource, fence: lease.fence, previousFence: lease.previous.fence, to: outcome.node.provisionState });
    } catch (error) {
      const code = error instanceof StaleFenceError ? 'STALE_FENCE' : String(error);
      history.record({ kind: 'write-rejected', resource, fence: lease.fence, error: code, sentAt: now() });
    }
  }
  for (let step = 0; step < 4; step++) {
    if (!ignoreSignal && lease.signal.aborted) break;
    await write(nodeId, resource, lease.fence, step < 3 ? 'cleaning' : 'manageable');
    await sleep(40 + Math.random() * 40);
  }
  if (lease.state === 'held') {
    history.record({ kind: 'released', resource, fence: lease.fence }); // it stops believing before it lets go
    await lease.release().catch(() => false);
  }
}
await locks.close();
lockRedis.disconnect();
storeRedis.disconnect();
process.disconnect?.();
