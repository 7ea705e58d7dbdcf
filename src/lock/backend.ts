import type { HolderInfo, PreviousHolder } from './errors.js';

/**
 * What {@link LockManager} asks a backend for when it acquires a lease (names already validated).
 *
 * @example
 * ```ts
 * import { randomUUID } from 'node:crypto';
 *
 * // What locks.acquire('node:node-1', { owner: 'conductor-a', purpose: 'deploy' }) sends, e.g. to test a backend of your own
 * const request: AcquireRequest = { resource: 'node:node-1', token: randomUUID(), owner: 'conductor-a', purpose: 'deploy', ttlMs: 10_000 };
 * const outcome = await backend.acquire(request);
 * if (outcome.acquired) await backend.release(request.resource, request.token);
 * ```
 */
export interface AcquireRequest {
  /** The resource to lock, e.g. `node:node-1`. */
  readonly resource: string;
  /** Random per acquisition; proves ownership on extend and release. */
  readonly token: string;
  /** Who acquires, recorded as the holder, e.g. a conductor id. */
  readonly owner: string;
  /** What the holder is doing, recorded with it; empty string when none was given. */
  readonly purpose: string;
  /** Lease time-to-live, ms: the lock expires this long after the grant unless renewed. */
  readonly ttlMs: number;
  /**
   * Set when the caller will ask again after a refusal: a prefix of every token its manager issues. A refusal by
   * a holder whose token does not start with it marks the resource as waited for, so that the holder's manager
   * lets it go free at release instead of handing it to waiters of its own ({@link LockBackend.handOver}).
   * Backends without hand-overs ignore it.
   */
  readonly waiter?: string;
}

/**
 * A backend's answer to {@link LockBackend.handOver}.
 *
 * @example
 * ```ts
 * // What a LockManager sends when it releases `lease` while an acquisition of its own waits for the resource
 * const next: AcquireRequest = { resource: lease.resource, token: `${lease.token}-next`, owner: 'conductor-a', purpose: '', ttlMs: 10_000 };
 * const result: HandOverOutcome | undefined = await backend.handOver?.({ resource: lease.resource, token: lease.token }, next);
 * if (result?.granted) console.log(`handed over with fence ${result.granted.fence}`);
 * else if (result?.released) console.log('released, and left free: another manager waits for it');
 * ```
 */
export type HandOverOutcome =
  | {
      /** The token did not hold the lock (the lease was lost): nothing was changed, nothing granted. */
      readonly released: false;
      /** Nothing was granted. */
      readonly granted: null;
    }
  | {
      /** The lease was released. */
      readonly released: true;
      /**
       * The grant to the next acquisition; `null` when the resource was left free instead, because an acquisition
       * of another manager was refused while the lease was held (it waits too, and must get its chance).
       */
      readonly granted: AcquireGrant | null;
    };

/**
 * A granted acquisition: the answer of {@link LockBackend.acquire} when the resource was free (or orphaned), and
 * the grant of a {@link LockBackend.handOver}.
 *
 * @example
 * ```ts
 * const outcome = await backend.acquire({ resource: 'node:node-1', token: 'token-1', owner: 'conductor-a', purpose: '', ttlMs: 10_000 });
 * if (outcome.acquired) {
 *   const grant: AcquireGrant = outcome;
 *   console.log(`fence ${grant.fence}, granted at ${new Date(grant.acquiredAt).toISOString()}`);
 * }
 * ```
 */
export interface AcquireGrant {
  /** Granted. */
  readonly acquired: true;
  /** The fence issued to this acquisition: greater than every fence issued before for this resource. */
  readonly fence: number;
  /** The server's clock when the lease was granted, epoch ms. */
  readonly acquiredAt: number;
  /** The holder whose lease expired without being released, when this acquisition took over an orphan. */
  readonly previous: PreviousHolder | null;
}

/**
 * A backend's answer to an acquisition.
 *
 * @example
 * ```ts
 * import { randomUUID } from 'node:crypto';
 *
 * const outcome: AcquireOutcome = await backend.acquire({ resource: 'node:node-1', token: randomUUID(), owner: 'conductor-a', purpose: '', ttlMs: 10_000 });
 * if (outcome.acquired) console.log(`fence ${outcome.fence}${outcome.previous ? `, taken over from ${outcome.previous.owner}` : ''}`);
 * else console.log(`held by ${outcome.holder?.owner ?? 'another holder'}, ${outcome.ttlMs ?? '?'} ms left`);
 * ```
 */
export type AcquireOutcome =
  | AcquireGrant
  | {
      /** Refused: someone else holds the resource. */
      readonly acquired: false;
      /** The current holder, when the backend knows it. */
      readonly holder: HolderInfo | null;
      /** Milliseconds left on the holder's lease, when known. */
      readonly ttlMs: number | null;
    };

/**
 * One lease to renew in a batched heartbeat.
 *
 * @example
 * ```ts
 * // What a heartbeat sends for a held lease (the LockManager renews its leases itself)
 * const items: ExtendItem[] = [{ resource: lease.resource, token: lease.token, ttlMs: lease.ttlMs }];
 * const [part] = await Promise.all(backend.extend(items, { timeoutMs: 1_000 }));
 * ```
 */
export interface ExtendItem {
  /** The leased resource. */
  readonly resource: string;
  /** The token it was acquired with; only a lock still holding this token is renewed. */
  readonly token: string;
  /** The TTL to renew it to, ms. */
  readonly ttlMs: number;
}

/**
 * The answer of one call of a batched renewal: the items it covered and what happened to them.
 *
 * @example
 * ```ts
 * const items: ExtendItem[] = [{ resource: lease.resource, token: lease.token, ttlMs: lease.ttlMs }];
 * for (const answer of backend.extend(items, { timeoutMs: 1_000 })) {
 *   const part: ExtendPart = await answer; // never rejects
 *   if (part.renewed === null) console.warn(`${part.indexes.length} leases in doubt: ${part.error.message}`);
 *   else part.indexes.forEach((i, k) => console.log(items[i]?.resource, part.renewed[k] ? 'renewed' : 'lost'));
 * }
 * ```
 */
export type ExtendPart =
  /** The call answered. */
  | {
      /** Positions in the `items` array given to `extend()` that this call covered. */
      readonly indexes: readonly number[];
      /** `renewed[k]` is for item `indexes[k]`: `true` renewed, `false` its token no longer holds the lock (lost). */
      readonly renewed: readonly boolean[];
      /** Always `null` here. */
      readonly error: null;
    }
  /** The call failed or did not answer in time: its items' fate is unknown. */
  | {
      /** Positions in the `items` array given to `extend()` that this call covered. */
      readonly indexes: readonly number[];
      /** Always `null` here: nothing is known. */
      readonly renewed: null;
      /** Why; a {@link BackendError} from the built-in backends. */
      readonly error: Error;
    };

/**
 * The state of one resource, as stored by the backend.
 *
 * @example
 * ```ts
 * const state: ResourceState = await locks.inspect(nodeResource('node-1'));
 * if (state.holder) console.log(`held by ${state.holder.owner} (fence ${state.holder.fence}), ${state.ttlMs} ms left`);
 * else if (state.orphan) console.log(`orphan of ${state.orphan.holder.owner} since ${new Date(state.orphan.expiredAt).toISOString()}`);
 * else console.log(`free; last fence ${state.lastFence}`);
 * ```
 */
export interface ResourceState {
  /** The resource read. */
  readonly resource: string;
  /** The live holder, or `null` when nobody holds the resource. */
  readonly holder: HolderInfo | null;
  /** Milliseconds left on the live holder's lease, or `null` when not held. */
  readonly ttlMs: number | null;
  /** The last fence issued for the resource (0 when never acquired). */
  readonly lastFence: number;
  /** The holder of the last lease issued (live, released or orphaned), or `null` when never acquired. */
  readonly lastHolder: HolderInfo | null;
  /** Set when the resource's last lease expired without being released: its holder and when it expired. */
  readonly orphan: OrphanRecord | null;
}

/**
 * A lease that expired without being released.
 *
 * @example
 * ```ts
 * const orphans: OrphanRecord[] = await locks.orphans({ limit: 100 });
 * for (const { resource, holder, expiredAt } of orphans) {
 *   console.log(`${resource}: ${holder.owner} died holding it (${holder.purpose || 'no purpose'}), expired ${new Date(expiredAt).toISOString()}`);
 * }
 * ```
 */
export interface OrphanRecord {
  /** The orphaned resource, e.g. `node:node-1`. */
  readonly resource: string;
  /** The holder whose lease expired. */
  readonly holder: HolderInfo;
  /** When the lease expired, epoch ms of the server's clock. */
  readonly expiredAt: number;
}

/**
 * A live lease as the backend stores it.
 *
 * @example
 * ```ts
 * const held: LeaseRecord[] = await locks.leases({ owner: 'conductor-a' });
 * for (const { resource, holder, ttlMs } of held) console.log(resource, holder.purpose, `fence ${holder.fence}`, `${ttlMs} ms left`);
 * ```
 */
export interface LeaseRecord {
  /** The leased resource. */
  readonly resource: string;
  /** Its holder. */
  readonly holder: HolderInfo;
  /** Milliseconds left on it (Redis's `PTTL`) unless renewed. */
  readonly ttlMs: number;
}

/**
 * The answer to a request to break a lease.
 *
 * @example
 * ```ts
 * const { holder } = await locks.inspect('node:node-1');
 * if (holder) {
 *   const outcome: BreakOutcome = await locks.breakLease('node:node-1', { fence: holder.fence });
 *   if (outcome.broken) console.warn(`broke the lease of ${outcome.holder.owner}: node-1 is an orphan now`);
 *   else console.log(`nothing broken: ${outcome.ttlMs === null ? 'freed meanwhile' : `a newer lease of ${outcome.holder?.owner}`}`);
 * }
 * ```
 */
export type BreakOutcome =
  /** The lease was broken: the resource is now an orphan of `holder`. */
  | {
      /** Broken. */
      readonly broken: true;
      /** The holder whose lease was broken. */
      readonly holder: HolderInfo;
      /** When the lease counts as expired (the break), epoch ms of the server's clock. */
      readonly expiredAt: number;
    }
  /** Nothing was broken: the resource is free or held under another fence. */
  | {
      /** Not broken. */
      readonly broken: false;
      /** The live holder (a newer lease), or the last recorded holder when nobody holds it; `null` when never acquired. */
      readonly holder: HolderInfo | null;
      /** Milliseconds left on the live holder's lease; `null` when the resource is free. */
      readonly ttlMs: number | null;
    };

/**
 * A backend's answer to {@link LockBackend.ping}.
 *
 * @example
 * ```ts
 * const ping: PingResult | undefined = await backend.ping?.(500);
 * if (ping && !ping.reachable) console.warn(`lock store down: ${ping.unreachable.join(', ')} (${ping.error})`);
 * ```
 */
export interface PingResult {
  /**
   * Whether leases can be served now: the server answered (a Cluster: every master; quorum mode: a majority of
   * the masters).
   */
  readonly reachable: boolean;
  /** The servers that did not answer within the timeout, as `host:port` (empty when all answered). */
  readonly unreachable: readonly string[];
  /** Why the first of them did not answer (credentials in URLs redacted), or `null`. */
  readonly error: string | null;
  /** How long the check took, in ms. */
  readonly latencyMs: number;
}

/**
 * Storage of leases. A backend is a thin adapter over atomic operations; lease policy (heartbeats, deadlines,
 * loss) lives in {@link LockManager}, which is the API to use. Implementations: {@link RedisBackend} (standalone,
 * Sentinel, Cluster) and {@link QuorumBackend}. A backend of your own must keep every operation atomic and issue
 * fences that only grow; the built-in ones reject with {@link BackendError} when the store fails.
 *
 * @example
 * ```ts
 * const backend: LockBackend = new RedisBackend(redis, { prefix: 'svc' });
 * const state = await backend.inspect('node:node-1'); // what `locks.inspect('node:node-1')` reads
 * ```
 */
export interface LockBackend {
  /** Atomically takes the resource if it is free (or orphaned), issuing a new fence. */
  acquire(request: AcquireRequest): Promise<AcquireOutcome>;
  /**
   * Renews many leases at once, in as few calls as the backend can. Returns one promise per call, so the caller
   * applies each master's answer as soon as it arrives: a stalled master never holds back the others. The
   * promises never reject: a call that fails or does not answer within `timeoutMs` resolves with its error.
   */
  extend(items: readonly ExtendItem[], options: { readonly timeoutMs: number }): Promise<ExtendPart>[];
  /** Deletes the lease if `token` still holds it; `true` when it did. Never touches another holder's lease. */
  release(resource: string, token: string): Promise<boolean>;
  /**
   * Optional: releases `lease` and grants its resource to `next` in one atomic step (one round trip), unless the
   * lease was lost or another manager's acquisition waits for the resource (see {@link AcquireRequest.waiter}).
   * {@link LockManager} uses it to pass a resource between acquisitions of its own; without it, they poll.
   */
  handOver?(lease: { readonly resource: string; readonly token: string }, next: AcquireRequest): Promise<HandOverOutcome>;
  /**
   * Gives the lease back as an orphan: deletes it if `token` still holds it but keeps (or makes) its orphan record,
   * so a resource taken over from a dead holder and given back unused is still found by recovery. With `previous`
   * (the orphan this acquisition took over, from its outcome), that orphan is put back as it was, naming the dead
   * holder; without it (unknown, e.g. the answer was lost), the orphan names this acquisition's owner.
   */
  abandon(resource: string, token: string, previous?: PreviousHolder | null): Promise<boolean>;
  /** Reads the state of one resource. */
  inspect(resource: string): Promise<ResourceState>;
  /**
   * Lists leases that expired without being released, at most `limit`, oldest first; with `resourcePrefix`, only
   * those of resources that start with it (others do not count toward the limit).
   */
  orphans(limit: number, resourcePrefix?: string): Promise<OrphanRecord[]>;
  /** Lists live leases, only `owner`'s when it is given, at most `limit`. Not a snapshot: leases taken or freed meanwhile may be missed. */
  leases(options: { readonly owner: string | null; readonly limit: number }): Promise<LeaseRecord[]>;
  /**
   * Breaks the live lease of `resource` issued with `fence`, making the resource an orphan at once; never breaks
   * a newer acquisition. The broken holder finds its token gone at its next heartbeat.
   */
  breakLease(resource: string, fence: number): Promise<BreakOutcome>;
  /**
   * Checks cheaply that the store answers (PING), within `timeoutMs`; never rejects. Optional for backends of
   * your own: without it, health reports `reachable: null`.
   */
  ping?(timeoutMs: number): Promise<PingResult>;
}
