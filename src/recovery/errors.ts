/**
 * Errors of operator recovery. Each has a stable `code`; none of them means something was written.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, LeaseholdError, type HolderInfo } from '../lock/errors.js';

/**
 * `recoverNode` met a live lease and was not told to force it. Nothing was changed. The holder may be alive and
 * working: let it finish, or force the recovery with a reason if you know it is dead or stuck.
 *
 * @example
 * ```ts
 * try {
 *   await recovery.recoverNode('node-7', { actor: 'alice' });
 * } catch (error) {
 *   if (!(error instanceof LiveLeaseError)) throw error;
 *   console.log(`${error.holder.owner} holds node-7 for ${error.ttlMs} more ms`);
 * }
 * ```
 */
export class LiveLeaseError extends LeaseholdError {
  /** Always `"LEASE_LIVE"`. */
  readonly code = 'LEASE_LIVE' as const;

  /** Made by `recovery.recoverNode()`. */
  constructor(
    /** The node asked for. */
    readonly nodeId: string,
    /** The live holder. */
    readonly holder: HolderInfo,
    /** Milliseconds left on its lease. */
    readonly ttlMs: number | null,
  ) {
    super(
      `Node "${nodeId}" has a live lease: "${holder.owner}" holds it (fence ${holder.fence}` +
        `${holder.purpose ? `, purpose "${holder.purpose}"` : ''})${ttlMs !== null ? ` for ${ttlMs} more ms unless renewed` : ''}. ` +
        'If that holder is alive, let it finish. If you know it is dead or stuck, force it: --force --reason "..." ' +
        '(its writes are then refused by the fence, and an audit record is kept).',
    );
  }
}

/**
 * `recoverNode` found nothing to recover: no live lease and no orphan record (the last lease was released, or the
 * node was never leased, or it was recovered already). Nothing was changed.
 *
 * @example
 * ```ts
 * await recovery.recoverNode('node-3', { actor: 'alice' }).catch((error: unknown) => {
 *   if (!(error instanceof NotOrphanedError)) throw error; // already recovered: nothing to do
 * });
 * ```
 */
export class NotOrphanedError extends LeaseholdError {
  /** Always `"NOT_ORPHANED"`. */
  readonly code = 'NOT_ORPHANED' as const;

  /** Made by `recovery.recoverNode()`. */
  constructor(
    /** The node asked for. */
    readonly nodeId: string,
    /** The holder of its last lease when the store still records one, else `null`. */
    readonly lastHolder: HolderInfo | null,
  ) {
    super(
      `Node "${nodeId}" is not orphaned: nobody holds it and its last lease${lastHolder ? ` ("${lastHolder.owner}", fence ${lastHolder.fence})` : ''} ` +
        'was released normally (or it was never leased). Nothing to recover; read its state with `leasehold status`.',
    );
  }
}

/**
 * A forced recovery was asked for without a reason (or a blank one): the reason goes into the audit record.
 * Nothing was changed.
 *
 * @example
 * ```ts
 * await recovery.recoverNode('node-7', { actor: 'alice', force: true }); // rejects with ReasonRequiredError
 * ```
 */
export class ReasonRequiredError extends InvalidArgumentError {
  /** Always `"REASON_REQUIRED"`. */
  readonly code = 'REASON_REQUIRED' as const;
}
