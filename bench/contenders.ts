// Adapts leasehold, the raw floor and each peer library to one interface: `acquire(resource) -> release()`.
// Every contender gets its own ioredis client and its own key prefix; all use the same TTL and a ~10 ms retry
// delay through the library's own retry mechanism.
import type { Redis } from 'ioredis';
import { Mutex, RedlockMutex } from 'redis-semaphore';
import Redlock from 'redlock';
import { Redlock as SesameRedlock } from '@sesamecare-oss/redlock';
import { LockManager, QuorumBackend, REDIS_BACKEND_DEFAULTS, RedisBackend } from '../src/index.js';
import { RawLock } from './raw-lock.js';
import { forEachLimited } from './stats.js';

/** Lease TTL every contender uses, in ms. */
export const TTL_MS = 10_000;
/** Base retry delay while a resource is held, in ms (each library's own retry loop; jitter as noted). */
export const RETRY_DELAY_MS = 10;
/** How long an acquire may wait for a held resource before giving up, in ms (never reached in the benchmark). */
export const WAIT_MS = 60_000;

export const CONTENDER_IDS = ['raw', 'leasehold', 'redis-semaphore', 'redlock', 'sesame-redlock'] as const;
export type ContenderId = (typeof CONTENDER_IDS)[number];
/** The contenders leasehold is compared with (the raw floor is a reference, not a peer). */
export const PEER_IDS = ['redis-semaphore', 'redlock', 'sesame-redlock'] as const satisfies readonly ContenderId[];
export type PeerId = (typeof PEER_IDS)[number];

/** Quorum mode over three independent masters (workload 8): leasehold's QuorumBackend and the Redlock peers. */
export const QUORUM_CONTENDER_IDS = ['leasehold-quorum', 'redlock-quorum', 'semaphore-redlock'] as const;
export type QuorumContenderId = (typeof QUORUM_CONTENDER_IDS)[number];
/** The quorum contenders leasehold's quorum mode is compared with. */
export const QUORUM_PEER_IDS = ['redlock-quorum', 'semaphore-redlock'] as const satisfies readonly QuorumContenderId[];
export type QuorumPeerId = (typeof QUORUM_PEER_IDS)[number];
/**
 * Reference rows of the uncontended workload, not targets: the raw floor on an ioredis client with
 * `enableAutoPipelining`, i.e. with a write batching of its own, as leasehold batches its writes (README, Topologies).
 */
export const REFERENCE_IDS = ['raw-autopipelined'] as const;
export type ReferenceId = (typeof REFERENCE_IDS)[number];

/** Any contender of any workload. */
export type AnyContenderId = ContenderId | QuorumContenderId | ReferenceId;

/** Releases what one `acquire` took. */
export type Release = () => Promise<void>;

/** One lock implementation under test. */
export interface Contender {
  readonly id: AnyContenderId;
  /** Takes `resource`, waiting (with the library's own retries) while someone else holds it. */
  acquire(resource: string): Promise<Release>;
  /** Frees what the adapter holds (not the client). */
  close(): Promise<void>;
}

/** How each contender is configured here, and what its defaults are: printed in the report. */
export const CONTENDER_INFO: Record<ContenderId, { readonly label: string; readonly settings: string }> = {
  raw: {
    label: 'raw floor (SET NX PX + EVALSHA CAD)',
    settings:
      `written in bench/raw-lock.ts: \`SET key token NX PX ${TTL_MS}\` with token = \`crypto.randomUUID()\`, release by a Lua ` +
      'compare-and-delete via `EVALSHA`; ' +
      `retry loop sleeps ${RETRY_DELAY_MS} ms × U(0.5, 1.5) between attempts. No fencing, no renewal, no holder record.`,
  },
  leasehold: {
    label: 'leasehold',
    settings:
      `\`new LockManager({ backend: new RedisBackend(client, { prefix }), ttlMs: ${TTL_MS}, retryDelayMs: ${RETRY_DELAY_MS} })\` ` +
      `(each retry delay jittered × U(0.5, 1.5)); defaults otherwise: heartbeatMs = ttlMs / 3, ${REDIS_BACKEND_DEFAULTS.shards} shards; ` +
      `\`acquire(resource, { owner, waitMs: ${WAIT_MS} })\`, \`lease.release()\`.`,
  },
  'redis-semaphore': {
    label: 'redis-semaphore Mutex',
    settings:
      `\`new Mutex(client, key, { lockTimeout: ${TTL_MS}, acquireTimeout: ${WAIT_MS}, retryInterval: ${RETRY_DELAY_MS} })\`, one Mutex per ` +
      'acquisition. refreshInterval left at its default (0.8 × lockTimeout = 8 s), so no refresh fires during a 1 ms hold ' +
      '(its timer is armed and cleared, as in normal use). Library defaults: lockTimeout 10 s, acquireTimeout 10 s, ' +
      'retryInterval 10 ms (no jitter), acquireAttemptsLimit ∞, refreshInterval 0.8 × lockTimeout.',
  },
  redlock: {
    label: 'redlock 5.0.0-beta.2',
    settings:
      `\`new Redlock([client], { retryCount: -1, retryDelay: ${RETRY_DELAY_MS}, retryJitter: ${RETRY_DELAY_MS / 2} })\`, ` +
      `\`acquire([key], ${TTL_MS})\`, \`lock.release()\`. Library defaults: retryCount 10, retryDelay 200 ms, retryJitter 100 ms, ` +
      'driftFactor 0.01.',
  },
  'sesame-redlock': {
    label: '@sesamecare-oss/redlock',
    settings:
      `\`new Redlock([client], { retryCount: -1, retryDelay: ${RETRY_DELAY_MS}, retryJitter: ${RETRY_DELAY_MS / 2} })\`, ` +
      `\`acquire([key], ${TTL_MS})\`, \`lock.release()\`. Library defaults: retryCount 10, retryDelay 200 ms, retryJitter 100 ms, ` +
      'driftFactor 0.01, db 0 (its scripts run `SELECT db` first).',
  },
};

/** How each reference contender is configured: printed in the report. */
export const REFERENCE_INFO: Record<ReferenceId, { readonly label: string; readonly settings: string }> = {
  'raw-autopipelined': {
    label: 'raw floor, client with `enableAutoPipelining` (reference)',
    settings:
      'the raw floor above on its own ioredis client created with `enableAutoPipelining: true`, which sends the commands ' +
      'made in one event-loop tick as one pipeline. Not a peer and not a target: it shows what batching writes alone buys a ' +
      'bare lock, next to leasehold, which batches its own writes.',
  },
};

/** The redlock settings used for both redlock flavours. */
const REDLOCK_SETTINGS = { retryCount: -1, retryDelay: RETRY_DELAY_MS, retryJitter: RETRY_DELAY_MS / 2 } as const;

/** Creates contender `id` on `client`, with keys under `prefix`. */
export async function createContender(id: ContenderId, client: Redis, prefix: string): Promise<Contender> {
  switch (id) {
    case 'raw':
      return rawContender(client, prefix);
    case 'leasehold':
      return leaseholdContender(client, prefix);
    case 'redis-semaphore':
      return semaphoreContender(client, prefix);
    case 'redlock':
      return redlockContender(id, new Redlock([client], REDLOCK_SETTINGS), prefix);
    case 'sesame-redlock':
      return redlockContender(id, new SesameRedlock([client], REDLOCK_SETTINGS), prefix);
  }
}

/** Creates reference contender `id` (uncontended workload only) on `client`, which the caller made for it. */
export function createReferenceContender(id: ReferenceId, client: Redis, prefix: string): Promise<Contender> {
  return rawContender(client, prefix, id);
}

async function rawContender(client: Redis, prefix: string, id: 'raw' | ReferenceId = 'raw'): Promise<Contender> {
  const raw = new RawLock(client, TTL_MS);
  await raw.prepare();
  return {
    id,
    async acquire(resource) {
      const key = `${prefix}:${resource}`;
      const started = performance.now();
      for (;;) {
        const token = await raw.tryAcquire(key);
        if (token !== null) return async () => void (await raw.release(key, token));
        if (performance.now() - started >= WAIT_MS) throw new Error(`raw: ${key} stayed held for ${WAIT_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * (0.5 + Math.random())));
      }
    },
    close: () => Promise.resolve(),
  };
}

/** The leasehold manager every leasehold workload uses. */
export function leaseholdManager(client: Redis, prefix: string): LockManager {
  return new LockManager({ backend: new RedisBackend(client, { prefix }), ttlMs: TTL_MS, retryDelayMs: RETRY_DELAY_MS });
}

function leaseholdContender(client: Redis, prefix: string): Contender {
  const locks = leaseholdManager(client, prefix);
  locks.on('error', (error) => console.error('leasehold background error:', error));
  return {
    id: 'leasehold',
    async acquire(resource) {
      const lease = await locks.acquire(resource, { owner: 'bench', waitMs: WAIT_MS });
      return async () => void (await lease.release());
    },
    close: () => locks.close(),
  };
}

function semaphoreContender(client: Redis, prefix: string): Contender {
  return {
    id: 'redis-semaphore',
    async acquire(resource) {
      const mutex = new Mutex(client, `${prefix}:${resource}`, { lockTimeout: TTL_MS, acquireTimeout: WAIT_MS, retryInterval: RETRY_DELAY_MS });
      await mutex.acquire();
      return () => mutex.release();
    },
    close: () => Promise.resolve(),
  };
}

/** What both redlock flavours have in common. */
interface RedlockLike {
  acquire(resources: string[], duration: number): Promise<{ release(): Promise<unknown> }>;
}

function redlockContender(id: 'redlock' | 'sesame-redlock', redlock: RedlockLike, prefix: string): Contender {
  return {
    id,
    async acquire(resource) {
      const lock = await redlock.acquire([`${prefix}:${resource}`], TTL_MS);
      return async () => void (await lock.release());
    },
    close: () => Promise.resolve(),
  };
}

// ---- Renewing many held locks, the way each peer does it (workload 3) ----

/** Many locks held by one peer, renewed the way that library renews a lock: one call per lock. */
export interface HeldLocks {
  /** Renews every held lock, all calls issued concurrently; resolves to how many were renewed. */
  renewAll(): Promise<number>;
  releaseAll(): Promise<void>;
}

/** The per-lock renewal each peer offers: printed in the report. */
export const RENEWAL_INFO: Record<PeerId, string> = {
  'redis-semaphore':
    'one `Mutex` per lock with `refreshInterval: 0` (no own timers); a renewal calls each mutex\'s `_refresh()` — what its ' +
    'refresh timer calls: one `EVALSHA` (GET + PEXPIRE) per lock',
  redlock:
    '`lock.extend(ttl)` per lock, all issued at once (one `EVALSHA`: GET + SET PX per lock); the returned lock replaces the old ' +
    'one; retryCount 0 for this workload so a failed extend fails the run',
  'sesame-redlock':
    '`lock.extend(ttl)` per lock, all issued at once (one `EVALSHA`: SELECT + GET + SET PX per lock); the returned lock replaces ' +
    'the old one; retryCount 0 for this workload so a failed extend fails the run',
};

interface RefreshableMutex {
  _refresh(): Promise<boolean>;
}

interface ExtendableLock {
  extend(duration: number): Promise<ExtendableLock>;
  release(): Promise<unknown>;
}

/** Acquires `resources` with peer `id` (at most `concurrency` at once) and returns them held. */
export async function holdMany(id: PeerId, client: Redis, prefix: string, resources: readonly string[], concurrency: number): Promise<HeldLocks> {
  if (id === 'redis-semaphore') {
    const mutexes = resources.map(
      (resource) => new Mutex(client, `${prefix}:${resource}`, { lockTimeout: TTL_MS, acquireTimeout: WAIT_MS, retryInterval: RETRY_DELAY_MS, refreshInterval: 0 }),
    );
    await forEachLimited(mutexes.length, concurrency, (i) => mutexes[i]!.acquire());
    return {
      async renewAll() {
        const results = await Promise.all(mutexes.map((mutex) => (mutex as unknown as RefreshableMutex)._refresh()));
        return results.filter(Boolean).length;
      },
      async releaseAll() {
        await forEachLimited(mutexes.length, concurrency, (i) => mutexes[i]!.release());
      },
    };
  }
  // retryCount 0 here: a held lock's extend must succeed at once; a failure should fail the run, not retry forever.
  const settings = { ...REDLOCK_SETTINGS, retryCount: 0 };
  const redlock: { acquire(resources: string[], duration: number): Promise<ExtendableLock> } =
    id === 'redlock' ? new Redlock([client], settings) : new SesameRedlock([client], settings);
  const locks = new Array<ExtendableLock>(resources.length);
  await forEachLimited(resources.length, concurrency, async (i) => {
    locks[i] = await redlock.acquire([`${prefix}:${resources[i]!}`], TTL_MS);
  });
  return {
    async renewAll() {
      const extended = await Promise.all(locks.map((lock) => lock.extend(TTL_MS)));
      extended.forEach((lock, i) => (locks[i] = lock));
      return extended.length;
    },
    async releaseAll() {
      await forEachLimited(locks.length, concurrency, async (i) => void (await locks[i]!.release()));
    },
  };
}

// ---- Quorum mode over three independent masters (workload 8) ----

/** How each quorum contender is configured: printed in the report. */
export const QUORUM_CONTENDER_INFO: Record<QuorumContenderId, { readonly label: string; readonly settings: string }> = {
  'leasehold-quorum': {
    label: 'leasehold QuorumBackend',
    settings:
      `\`new LockManager({ backend: new QuorumBackend([m1, m2, m3], { prefix }), ttlMs: ${TTL_MS}, retryDelayMs: ${RETRY_DELAY_MS} })\`; ` +
      `defaults otherwise (per-master timeout min(1000, max(50, ttl / 10)) ms, ${REDIS_BACKEND_DEFAULTS.shards} shards on each master); ` +
      `\`acquire(resource, { owner, waitMs: ${WAIT_MS} })\`, \`lease.release()\`. A grant from a majority; the fence is the highest ` +
      'the granting masters issued, written back to those that issued a lower one (one more round trip to them).',
  },
  'redlock-quorum': {
    label: 'redlock 5.0.0-beta.2 (3 masters)',
    settings:
      `\`new Redlock([m1, m2, m3], { retryCount: -1, retryDelay: ${RETRY_DELAY_MS}, retryJitter: ${RETRY_DELAY_MS / 2} })\`, ` +
      `\`acquire([key], ${TTL_MS})\`, \`lock.release()\`: one script call per master for each, in parallel.`,
  },
  'semaphore-redlock': {
    label: 'redis-semaphore RedlockMutex',
    settings:
      `\`new RedlockMutex([m1, m2, m3], key, { lockTimeout: ${TTL_MS}, acquireTimeout: ${WAIT_MS}, retryInterval: ${RETRY_DELAY_MS} })\`, ` +
      'one per acquisition: `SET NX PX` on every master in parallel, release by a compare-and-delete script on every master.',
  },
};

/** Creates quorum contender `id` over `masters` (one client per master, its own), with keys under `prefix`. */
export function createQuorumContender(id: QuorumContenderId, masters: readonly Redis[], prefix: string): Contender {
  switch (id) {
    case 'leasehold-quorum': {
      const locks = new LockManager({ backend: new QuorumBackend(masters, { prefix }), ttlMs: TTL_MS, retryDelayMs: RETRY_DELAY_MS });
      locks.on('error', (error) => console.error('leasehold quorum background error:', error));
      return {
        id,
        async acquire(resource) {
          const lease = await locks.acquire(resource, { owner: 'bench', waitMs: WAIT_MS });
          return async () => void (await lease.release());
        },
        close: () => locks.close(),
      };
    }
    case 'redlock-quorum': {
      const redlock = new Redlock([...masters], REDLOCK_SETTINGS);
      return {
        id,
        async acquire(resource) {
          const lock = await redlock.acquire([`${prefix}:${resource}`], TTL_MS);
          return async () => void (await lock.release());
        },
        close: () => Promise.resolve(),
      };
    }
    case 'semaphore-redlock':
      return {
        id,
        async acquire(resource) {
          const mutex = new RedlockMutex([...masters], `${prefix}:${resource}`, { lockTimeout: TTL_MS, acquireTimeout: WAIT_MS, retryInterval: RETRY_DELAY_MS });
          await mutex.acquire();
          return () => mutex.release();
        },
        close: () => Promise.resolve(),
      };
  }
}
