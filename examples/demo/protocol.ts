// What the demo (the parent: an API service and an auditor) and its conductor processes say to each other over
// IPC. Conductors report what their locks and writes did, with timestamps; the parent checks the invariants from
// these reports and from the stores, never from what a conductor concludes about itself.
import type { ProvisionStateValue } from 'leasehold';
import type { Operation } from './operations.js';

/** Parent -> conductor: run `operation` on `nodeId` under the node's lease. */
export interface OperateOrder {
  readonly type: 'operate';
  readonly opId: number;
  readonly nodeId: string;
  readonly operation: Operation;
}

/** Parent -> conductor: stop gracefully (finish running operations, release everything) and exit. */
export interface StopOrder {
  readonly type: 'stop';
}

export type Order = OperateOrder | StopOrder;

/** How one write to the node store went: applied, or refused by the store and why. */
export type WriteOutcome = 'ok' | 'stale-fence' | 'wrong-state' | 'error';

/**
 * Who made a write: a conductor's task (`task`), a conductor whose lease was already lost and wrote anyway with
 * its old fence (`after-loss`: what a holder paused just after checking its lease does), a recovery manager
 * (`recovery`), or a conductor that found the node orphaned when reserving it (`takeover`).
 */
export type WriteKind = 'task' | 'after-loss' | 'recovery' | 'takeover';

/** The events a conductor process reports. */
export type ConductorEvent =
  | { readonly type: 'ready'; readonly pid: number }
  | {
      readonly type: 'lease-acquired';
      readonly resource: string;
      readonly owner: string;
      readonly fence: number;
      /** When Redis granted it, epoch ms of the server's clock (the lock's own record). */
      readonly acquiredAt: number;
      /** The holder's local validity deadline, epoch ms. */
      readonly validUntil: number;
      readonly previous: { readonly owner: string; readonly fence: number } | null;
    }
  | { readonly type: 'lease-extended'; readonly resource: string; readonly fence: number; readonly validUntil: number }
  | { readonly type: 'lease-ended'; readonly resource: string; readonly fence: number; readonly how: 'released' | 'lost'; readonly reason: string | null }
  | ({ readonly type: 'write' } & WriteReport)
  | {
      readonly type: 'recovered';
      readonly nodeId: string;
      readonly from: ProvisionStateValue;
      readonly to: ProvisionStateValue;
      readonly fence: number;
      readonly previous: { readonly owner: string; readonly fence: number };
      /** `event`, `sweep`: a RecoveryManager; `acquire`: a conductor reserving the node. */
      readonly trigger: string;
      readonly by: string;
    }
  | { readonly type: 'recovery-skipped'; readonly nodeId: string; readonly reason: string }
  | { readonly type: 'op-done'; readonly opId: number; readonly nodeId: string; readonly outcome: OperationOutcome; readonly detail: string | null }
  | { readonly type: 'notice'; readonly message: string }
  | { readonly type: 'stopped' };

/** How an ordered operation ended in the conductor. */
export type OperationOutcome = 'done' | 'locked' | 'moved' | 'lost' | 'stopped' | 'failed';

/** Every report carries who sent it and when: wall clock (epoch ms, `Date.now()`) and the sender's monotonic clock. */
export type Report = ConductorEvent & { readonly conductor: string; readonly wall: number; readonly mono: number };

/** One write a conductor made to the node store, with its outcome, as it reports it. */
export interface WriteReport {
  readonly nodeId: string;
  readonly kind: WriteKind;
  readonly fence: number;
  readonly from: ProvisionStateValue;
  readonly to: ProvisionStateValue;
  readonly outcome: WriteOutcome;
  /** The fence the store holds, when it refused a stale one. */
  readonly storedFence: number | null;
  /** Wall clock (epoch ms) just before the write was sent and just after its answer: it took effect in between. */
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly error: string | null;
}
