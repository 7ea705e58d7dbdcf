// A worker process of the fault scenarios: it takes node leases again and again, writes the node with each lease's
// fence (to a node store on a Redis of its own, so a fault on the lock Redis never hides a stale write from the
// store), releases, and records everything in the shared history.
//
// env: where the leases live, one of LOCK_URL (one server; may point at a fault proxy), LOCK_CLUSTER (host:port,...
//      of a Redis Cluster) or LOCK_QUORUM (redis://..., of independent masters: quorum mode); STORE_URL, PREFIX,
//      WHO, HISTORY, TTL_MS, RESOURCES (count), DURATION_MS, IGNORE_SIGNAL=1 (a careless holder: goes on writing
//      after its lease is lost, so the fence must stop it), MODE=storm (contention storm: every worker on node r0,
//      waiting for it, HOLD_MS and THINK_MS of work and of pause between acquisitions).
// IPC: { type: 'go' } starts the work (sent once every worker said { type: 'ready' });
//      { type: 'block', ms } blocks the event loop for ms (as a long GC pause or a CPU-bound bug would);
//      { type: 'stubborn', ms } makes the next lease a long job: the worker writes its node for ms, a careless holder
//      whatever its lease says (as a job that never looks at its lease), a careful one until the lease is lost
//      (acked with the node's id once the lease is taken);
//      { type: 'target', nodeId, ms } (acked at once) makes a worker take only that node for ms, waiting for it: the
//      rival that takes over a stalled holder's node.
import { Redis, type Cluster } from 'ioredis';
import {
  LockManager,
  QuorumBackend,
  RedisBackend,
  RedisNodeStore,
  StaleFenceError,
  failStuckNode,
  nodeResource,
  resolveFailurePolicy,
  type Lease,
  type LockBackend,
} from '../../src/index.js';
import { createClusterClient } from '../harness/clients.js';
import { HistoryWriter, now } from './history.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`fault worker needs ${name}`);
  return value;
};
const history = new HistoryWriter(env('HISTORY'), env('WHO'));
const prefix = env('PREFIX');
const lockClients: (Redis | Cluster)[] = [];
let backend: LockBackend;
if (process.env.LOCK_CLUSTER) {
  const nodes = process.env.LOCK_CLUSTER.split(',').map((a) => ({ host: a.split(':')[0]!, port: Number(a.split(':')[1]) }));
  const cluster = createClusterClient(nodes);
  lockClients.push(cluster);
  backend = new RedisBackend(cluster, { prefix });
} else if (process.env.LOCK_QUORUM) {
  // No offline queue (a dead master fails at once) and reconnect forever (a master may come back, empty).
  const masters = process.env.LOCK_QUORUM.split(',').map((url) => new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 1_000, enableOfflineQueue: false, retryStrategy: () => 100 }));
  lockClients.push(...masters);
  backend = new QuorumBackend(masters, { prefix });
} else {
  const lockRedis = new Redis(env('LOCK_URL'), { maxRetriesPerRequest: 1, connectTimeout: 1_000 });
  lockClients.push(lockRedis);
  backend = new RedisBackend(lockRedis, { prefix });
}
for (const c of lockClients) c.on('error', () => undefined);
const storeRedis = new Redis(env('STORE_URL'), { maxRetriesPerRequest: 1 });
storeRedis.on('error', () => undefined);
const ttlMs = Number(env('TTL_MS'));
const locks = new LockManager({ backend, ttlMs });
locks.on('error', () => undefined); // failures show up as losses, which are recorded
const store = new RedisNodeStore(storeRedis, { prefix });
const resources = Number(env('RESOURCES'));
const ignoreSignal = process.env.IGNORE_SIGNAL === '1';
const policy = resolveFailurePolicy();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const storm = process.env.MODE === 'storm';
const holdMs = Number(process.env.HOLD_MS ?? 20);
const thinkMs = Number(process.env.THINK_MS ?? 20);
/** How long the next lease's careless holder goes on writing its node (a 'stubborn' message), and until when. */
let stubbornMs = 0;
let stubbornUntil = 0;
/** The node this worker must take, and until when (a 'target' message). */
let target = null as { nodeId: string; until: number } | null; // set by the message handler
/** When the run ends: DURATION_MS after the go, later while the runner still injects its fault ('extend' messages). */
let end = Number.POSITIVE_INFINITY;

process.on('message', (m: { type: string; ms: number; nodeId?: string }) => {
  if (m.type === 'block') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, m.ms);
  if (m.type === 'stubborn') stubbornMs = m.ms;
  if (m.type === 'extend') end = Math.max(end, now() + m.ms);
  if (m.type === 'target') {
    target = { nodeId: m.nodeId!, until: now() + m.ms };
    process.send?.({ type: 'ack', of: m.type });
  }
});
// Forked by the runner: say ready and wait for its go, so every worker starts together (starting 50 processes on two
// cores takes seconds). DURATION_MS counts from the go.
if (process.send) {
  await new Promise<void>((go) => {
    process.on('message', (m: { type: string }) => m.type === 'go' && go());
    process.send!({ type: 'ready' });
  });
}
end = now() + Number(env('DURATION_MS'));
const errorName = (error: unknown): string => (error as { code?: string } | null)?.code ?? (error as Error | null)?.name ?? String(error);

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
  if (target && now() >= target.until) target = null;
  const nodeId = storm ? 'r0' : (target?.nodeId ?? `r${Math.floor(Math.random() * resources)}`);
  const resource = nodeResource(nodeId);
  // A storm worker waits for its one resource until the end of the run; a rival waits for its target.
  const waitMs = Math.floor(storm ? Math.max(0, end - now()) : target ? Math.max(200, target.until - now()) : 200);
  let lease: Lease | null = null;
  let failure: string | undefined;
  const started = now();
  try {
    lease = await locks.tryAcquire(resource, { owner: env('WHO'), purpose: 'clean', waitMs });
  } catch (error) {
    lease = null; // Redis unreachable (or no quorum): try again
    failure = errorName(error);
  }
  const waitedMs = now() - started;
  if (!lease) {
    history.record({ kind: 'acquire-fail', resource, ...(failure === undefined ? {} : { error: failure }), ...(storm ? { waitedMs } : {}) });
    await sleep(20);
    continue;
  }
  history.record({ kind: 'acquire-ok', resource, fence: lease.fence, previousFence: lease.previous?.fence ?? null, startedAt: started, ...(storm ? { waitedMs } : {}) });
  track(lease);
  if (stubbornMs > 0) {
    stubbornUntil = now() + stubbornMs;
    stubbornMs = 0;
    process.send?.({ type: 'ack', of: 'stubborn', nodeId });
  }
  if (lease.previous) {
    // The acquire path of recovery, as a Conductor does it: a node whose holder died mid-work is failed first.
    try {
      const outcome = await failStuckNode(store, policy, { nodeId, fence: lease.fence, previous: lease.previous, actor: env('WHO'), trigger: 'acquire' });
      const to = outcome.outcome === 'failed' ? outcome.to : outcome.node.provisionState;
      history.record({ kind: 'recovered', resource, fence: lease.fence, previousFence: lease.previous.fence, to, trigger: 'acquire' });
    } catch (error) {
      const code = error instanceof StaleFenceError ? 'STALE_FENCE' : String(error);
      history.record({ kind: 'write-rejected', resource, fence: lease.fence, error: code, sentAt: now() });
    }
  }
  // Four writes 40-80 ms apart (two, HOLD_MS apart, in a storm); a long job ('stubborn') goes on until its end.
  const steps = storm ? 2 : 4;
  for (let step = 0; ; step++) {
    if (!ignoreSignal && lease.signal.aborted) break;
    const last = step >= steps - 1 && now() >= stubbornUntil;
    await write(nodeId, resource, lease.fence, last ? 'manageable' : 'cleaning');
    if (storm && last) break;
    await sleep(storm ? holdMs * (0.5 + Math.random()) : 40 + Math.random() * 40);
    if (last) break;
  }
  if (lease.state === 'held') {
    history.record({ kind: 'released', resource, fence: lease.fence }); // it stops believing before it lets go
    await lease.release().catch(() => false);
  }
  if (storm) await sleep(thinkMs * Math.random());
}
await locks.close();
for (const c of lockClients) c.disconnect();
storeRedis.disconnect();
process.disconnect?.();
