/**
 * Errors of operator recovery. Each has a stable `code`; none of them means something was written.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, LeaseholdError, type HolderInfo } from '../lock/errors.js';

/** `recoverNode` met a live lease and was not told to force it. Nothing was changed. */
export class LiveLeaseError extends LeaseholdError {
  readonly code = 'LEASE_LIVE' as const;

  constructor(
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

/** `recoverNode` found nothing to recover: no live lease and no orphan record. Nothing was changed. */
export class NotOrphanedError extends LeaseholdError {
  readonly code = 'NOT_ORPHANED' as const;

  constructor(readonly nodeId: string, readonly lastHolder: HolderInfo | null) {
    super(
      `Node "${nodeId}" is not orphaned: nobody holds it and its last lease${lastHolder ? ` ("${lastHolder.owner}", fence ${lastHolder.fence})` : ''} ` +
        'was released normally (or it was never leased). Nothing to recover; read its state with `leasehold status`.',
    );
  }
}

/** A forced recovery was asked for without a reason. Nothing was changed. */
export class ReasonRequiredError extends InvalidArgumentError {
  readonly code = 'REASON_REQUIRED' as const;
}
