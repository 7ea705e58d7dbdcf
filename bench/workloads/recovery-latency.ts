// Workload 5: kill-to-failed latency. A real conductor process reserves a node and moves it to `deploying`; the
// parent SIGKILLs it at a random point of its heartbeat cycle, and a RecoveryManager in the parent (on the same
// private server, RedisNodeStore as the shared store) moves the node to `deploy failed`. Measured per kill: from
// the SIGKILL to the `recovered` event, and from the lease's expiry (its deadline in Redis, server clock on this
// same host) to that event. Two variants: expiry events heard (subscriber on, sweeps out of the way), and events
// dropped (no subscriber, notifications off on the server: only the periodic sweep finds the orphan).
import type { Redis } from 'ioredis';
import { LockManager, RecoveryManager, RedisBackend, RedisNodeStore, type RecoveredEvent, type RecoveryTrigger } from '../../src/index.js';
import { ConductorProcess } from '../conductor-process.js';
import { sleep } from '../stats.js';

export type LatencyVariant = 'events' | 'sweep';

export interface RecoveryLatencyOptions {
  readonly variant: LatencyVariant;
  /** SIGKILLs in all (one conductor process and one node each). */
  readonly rounds: number;
  /** Conductor processes per batch: started together, killed at independent random moments, awaited together. */
  readonly lanes: number;
  readonly ttlMs: number;
  readonly sweepIntervalMs: number;
  /** This workload's private server. */
  readonly server: { readonly url: string; readonly client: () => Redis };
  readonly log: (line: string) => void;
}

/** One SIGKILL. */
export interface LatencySample {
  readonly nodeId: string;
  /** From the SIGKILL to the `recovered` event, ms (this host's monotonic clock). */
  readonly killToFailedMs: number;
  /** From the SIGKILL to the lease's deadline in Redis, ms: up to one TTL, less by the time since the last heartbeat. */
  readonly killToExpiryMs: number;
  /** From the lease's deadline to the write of the failed state: `RecoveredEvent.latencyMs`. */
  readonly expiryToFailedMs: number;
  readonly trigger: RecoveryTrigger;
}

export interface RecoveryLatencyResult {
  readonly variant: LatencyVariant;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  readonly sweepIntervalMs: number;
  readonly subscriber: boolean;
  readonly lanes: number;
  /** `notify-keyspace-events` of the server at the end. */
  readonly notifyKeyspaceEvents: string;
  readonly samples: readonly LatencySample[];
  /** Nodes not recovered within TTL + sweep period + 10 s of their SIGKILL. */
  readonly unrecovered: readonly string[];
  /** `recovered` events beyond the first for a node (must be 0: exactly once). */
  readonly duplicates: number;
  /** Nodes not in `deploy failed` at the end. */
  readonly wrongState: number;
  readonly wallMs: number;
}

/** Runs `options.rounds` SIGKILLs, `options.lanes` at a time, and measures each one's recovery. */
export async function runRecoveryLatency(options: RecoveryLatencyOptions): Promise<RecoveryLatencyResult> {
  const { variant, ttlMs, sweepIntervalMs, log } = options;
  const started = performance.now();
  const redis = options.server.client();
  const prefix = `lat-${variant}`;
  const store = new RedisNodeStore(redis, { prefix });
  const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs });
  locks.on('error', (error) => log(`  latency ${variant}: lock manager error: ${String(error)}`));
  const subscriber = variant === 'events';
  const recovery = new RecoveryManager({ locks, nodes: store, sweepIntervalMs, ...(subscriber ? { subscriber: redis } : {}) });
  const heartbeatMs = locks.options.heartbeatMs;

  const waiters = new Map<string, (event: RecoveredEvent, at: number) => void>();
  const recoveredCount = new Map<string, number>();
  recovery.on('recovered', (event) => {
    const at = performance.now();
    recoveredCount.set(event.nodeId, (recoveredCount.get(event.nodeId) ?? 0) + 1);
    waiters.get(event.nodeId)?.(event, at);
  });
  recovery.on('failed', (event) => log(`  latency ${variant}: recovery of ${event.nodeId} failed: ${String(event.error)}`));
  recovery.on('degraded', (message) => log(`  latency ${variant}: degraded: ${message}`));
  recovery.on('error', (error) => log(`  latency ${variant}: recovery error: ${String(error)}`));

  const samples: LatencySample[] = [];
  const unrecovered: string[] = [];
  const nodeIds: string[] = [];
  try {
    await recovery.start();
    for (let first = 0; first < options.rounds; first += options.lanes) {
      const batch = Array.from({ length: Math.min(options.lanes, options.rounds - first) }, (_, k) => first + k);
      const ids = batch.map((round) => `lat-${variant}-${round}`);
      nodeIds.push(...ids);
      for (const id of ids) await store.create({ id, provisionState: 'available', driver: 'ipmi' });
      const children = batch.map((round) => new ConductorProcess({ redisUrl: options.server.url, prefix, id: `conductor-${variant}-${round}`, ttlMs }));
      try {
        let lost: string | null = null;
        for (const child of children) {
          child.onMessage = (m) => {
            if (m.type === 'lost') lost = String(m.resource);
          };
        }
        await Promise.all(children.map((child) => child.next('ready')));
        await Promise.all(children.map((child, k) => child.ask({ type: 'reserve', nodeIds: [ids[k]!], to: 'deploying', purpose: 'deploy', concurrency: 1 }, 'reserved')));
        await Promise.all(
          children.map(async (child, k) => {
            const nodeId = ids[k]!;
            // Kill at a uniformly random point of the heartbeat cycle: the lease has TTL - (time since last beat) left.
            await sleep(heartbeatMs * (1 + Math.random()));
            if (lost !== null) throw new Error(`a conductor process lost its lease on ${lost} before it was killed`);
            const recovered = new Promise<{ event: RecoveredEvent; at: number } | null>((resolve) => {
              const timer = setTimeout(() => resolve(null), ttlMs + sweepIntervalMs + 10_000);
              waiters.set(nodeId, (event, at) => {
                clearTimeout(timer);
                resolve({ event, at });
              });
            });
            const killedEpoch = Date.now();
            const killedAt = performance.now();
            await child.kill();
            const outcome = await recovered;
            waiters.delete(nodeId);
            if (outcome === null) return void unrecovered.push(nodeId);
            const { event, at } = outcome;
            samples.push({
              nodeId,
              killToFailedMs: at - killedAt,
              killToExpiryMs: event.previous.expiredAt - killedEpoch,
              expiryToFailedMs: event.latencyMs,
              trigger: event.trigger,
            });
          }),
        );
      } finally {
        await Promise.all(children.map((child) => child.kill()));
      }
      const last = samples.slice(-batch.length).map((s) => `${s.killToFailedMs.toFixed(0)}`);
      log(`  latency ${variant}: kills ${first + 1}-${first + batch.length} of ${options.rounds}: kill-to-failed ${last.join(', ')} ms`);
    }
    await sleep(300); // a second recovery of the same node would show up here
    let wrongState = 0;
    for (const id of nodeIds) if ((await store.get(id)).provisionState !== 'deploy failed') wrongState++;
    let duplicates = 0;
    for (const count of recoveredCount.values()) duplicates += count - 1;
    const notify = ((await redis.config('GET', 'notify-keyspace-events')) as string[])[1] ?? '';
    return {
      variant,
      ttlMs,
      heartbeatMs,
      sweepIntervalMs,
      subscriber,
      lanes: options.lanes,
      notifyKeyspaceEvents: notify,
      samples,
      unrecovered,
      duplicates,
      wrongState,
      wallMs: performance.now() - started,
    };
  } finally {
    await recovery.stop();
    await locks.close();
    redis.disconnect();
  }
}
