import type { HolderInfo, PreviousHolder } from './errors.js';

/** What a backend is asked to do when a lease is acquired. */
export interface AcquireRequest {
  readonly resource: string;
  /** Random per acquisition; proves ownership on extend and release. */
  readonly token: string;
  readonly owner: string;
  /** Empty string when none was given. */
  readonly purpose: string;
  readonly ttlMs: number;
}

/** A backend's answer to an acquisition. */
export type AcquireOutcome =
  | {
      readonly acquired: true;
      /** The fence issued to this acquisition: greater than every fence issued before for this resource. */
      readonly fence: number;
      /** The server's clock when the lease was granted, epoch ms. */
      readonly acquiredAt: number;
      /** The holder whose lease expired without being released, when this acquisition took over an orphan. */
      readonly previous: PreviousHolder | null;
    }
  | {
      readonly acquired: false;
      /** The current holder, when the backend knows it. */
      readonly holder: HolderInfo | null;
      /** Milliseconds left on the holder's lease, when known. */
      readonly ttlMs: number | null;
    };

/** One lease to renew in a batched heartbeat. */
export interface ExtendItem {
  readonly resource: string;
  readonly token: string;
  readonly ttlMs: number;
}

/** The answer of one call of a batched renewal: the items it covered and what happened to them. */
export type ExtendPart =
  /** `renewed[k]` is for item `indexes[k]`: `true` renewed, `false` its token no longer holds the lock (lost). */
  | { readonly indexes: readonly number[]; readonly renewed: readonly boolean[]; readonly error: null }
  /** The call failed or did not answer in time: its items' fate is unknown. */
  | { readonly indexes: readonly number[]; readonly renewed: null; readonly error: Error };

/** The state of one resource, as stored by the backend. */
export interface ResourceState {
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

/** A lease that expired without being released. */
export interface OrphanRecord {
  readonly resource: string;
  /** The holder whose lease expired. */
  readonly holder: HolderInfo;
  /** When the lease expired, epoch ms of the server's clock. */
  readonly expiredAt: number;
}

/** A live lease as the backend stores it. */
export interface LeaseRecord {
  readonly resource: string;
  /** Its holder. */
  readonly holder: HolderInfo;
  /** Milliseconds left on it. */
  readonly ttlMs: number;
}

/** The answer to a request to break a lease. */
export type BreakOutcome =
  /** The lease was broken: the resource is now an orphan of `holder`, expired at `expiredAt` (server ms). */
  | { readonly broken: true; readonly holder: HolderInfo; readonly expiredAt: number }
  /** Nothing was broken: the resource is free (`holder` null or its last holder) or held under another fence. */
  | { readonly broken: false; readonly holder: HolderInfo | null; readonly ttlMs: number | null };

/** A backend's answer to {@link LockBackend.ping}. */
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
 * loss) lives in {@link LockManager}. Implementations: {@link RedisBackend}.
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
   * Gives the lease back as an orphan: deletes it if `token` still holds it but keeps (or makes) its orphan record,
   * so a resource taken over from a dead holder and given back unused is still found by recovery.
   */
  abandon(resource: string, token: string): Promise<boolean>;
  /** Reads the state of one resource. */
  inspect(resource: string): Promise<ResourceState>;
  /** Lists leases that expired without being released, at most `limit`. */
  orphans(limit: number): Promise<OrphanRecord[]>;
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
