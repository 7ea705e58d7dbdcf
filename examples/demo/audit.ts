// The invariant checks, made by the demo from what the processes reported (never from what a conductor concluded):
//
// - double holds: per resource, the lease spans (grant, by the lock's own record, to the moment the holder stopped
//   believing: release called, lease lost or its deadline, process killed) of different acquisitions never
//   overlap by more than the clocks' resolution;
// - fences: per resource, in grant order, fences strictly grow;
// - writes: per node, an accepted write never carries a fence lower than one accepted before it (a write whose
//   answer came before the other was sent); a write with such a stale fence is an attempted stale write and must
//   be refused by the store, which must name a higher stored fence when it refuses one;
// - recoveries: each node the faulty conductor left mid-operation is recovered exactly once.
import type { LeaseSpan, RecoveryRecord, Timeline, WriteRecord } from './timeline.js';

export interface DoubleHold {
  readonly resource: string;
  readonly first: { readonly owner: string; readonly fence: number };
  readonly second: { readonly owner: string; readonly fence: number };
  readonly overlapMs: number;
}

export interface LeaseAudit {
  readonly spans: number;
  readonly resources: number;
  readonly doubleHolds: readonly DoubleHold[];
  /** Resources whose fences did not strictly grow in grant order. */
  readonly fenceRegressions: readonly string[];
  /** Previous holders named by a takeover whose acquisition no report mentions (lost with a killed process). */
  readonly unreported: number;
  /** Spans whose end was never reported, of processes that were not killed: reports went missing. */
  readonly unended: number;
}

export interface WriteAudit {
  readonly total: number;
  readonly accepted: number;
  readonly refusedStaleFence: number;
  readonly refusedWrongState: number;
  readonly errors: number;
  /** Writes whose fence was lower than one the store had already accepted for the node (or that the store said so). */
  readonly staleAttempted: number;
  readonly staleRefused: number;
  readonly staleAccepted: readonly WriteRecord[];
  /** Writes made by a holder that already knew its lease lost (the paused conductor, resumed). */
  readonly afterLoss: number;
  /** Refusals as stale whose stored fence was not higher: the store contradicting itself. */
  readonly inconsistent: readonly WriteRecord[];
}

export interface RecoveryAudit {
  readonly expected: readonly string[];
  /** Recoveries of the faulty conductor's nodes. */
  readonly ofFault: readonly RecoveryRecord[];
  /** Recoveries of other holders' leases (a survivor that lost a lease under load). */
  readonly others: readonly RecoveryRecord[];
  /** Orphans recovered more than once (node, previous holder, previous fence). */
  readonly duplicates: readonly string[];
  /** Expected nodes never recovered. */
  readonly missing: readonly string[];
}

/** Double holds and fence order, per resource. `toleranceMs`: the clocks' resolution (ms timestamps, offset). */
export function auditLeases(timeline: Timeline, toleranceMs: number): LeaseAudit {
  const doubleHolds: DoubleHold[] = [];
  const fenceRegressions: string[] = [];
  const all = timeline.allSpans();
  const known = new Set(all.map((s) => `${s.resource}|${s.owner}|${s.fence}`));
  for (const [resource, spans] of timeline.spans) {
    const sorted = [...spans].sort((a, b) => a.start - b.start);
    let open: LeaseSpan | null = null;
    let previous: LeaseSpan | null = null;
    for (const span of sorted) {
      if (previous && span.fence <= previous.fence) fenceRegressions.push(resource);
      previous = span;
      if (open) {
        const openEnd = open.end ?? open.validUntil;
        if (span.start < openEnd - toleranceMs) {
          doubleHolds.push({ resource, first: { owner: open.owner, fence: open.fence }, second: { owner: span.owner, fence: span.fence }, overlapMs: openEnd - span.start });
        }
      }
      if (!open || (span.end ?? span.validUntil) > (open.end ?? open.validUntil)) open = span;
    }
  }
  const unreported = all.filter((s) => s.previous && !known.has(`${s.resource}|${s.previous.owner}|${s.previous.fence}`)).length;
  const unended = all.filter((s) => s.end === null).length;
  return { spans: all.length, resources: timeline.spans.size, doubleHolds, fenceRegressions: [...new Set(fenceRegressions)], unreported, unended };
}

/** Stale writes and fence order of accepted writes, per node. */
export function auditWrites(timeline: Timeline): WriteAudit {
  const byNode = new Map<string, WriteRecord[]>();
  for (const w of timeline.writes) byNode.set(w.nodeId, [...(byNode.get(w.nodeId) ?? []), w]);
  let staleAttempted = 0;
  let staleRefused = 0;
  const staleAccepted: WriteRecord[] = [];
  const inconsistent: WriteRecord[] = [];
  for (const writes of byNode.values()) {
    const accepted = writes.filter((w) => w.outcome === 'ok');
    for (const w of writes) {
      const staleByOrder = accepted.some((a) => a.answeredAt < w.sentAt && a.fence > w.fence);
      if (!staleByOrder && w.outcome !== 'stale-fence') continue;
      staleAttempted++;
      if (w.outcome === 'stale-fence') staleRefused++;
      if (w.outcome === 'ok') staleAccepted.push(w);
      if (w.outcome === 'stale-fence' && (w.storedFence === null || w.storedFence <= w.fence)) inconsistent.push(w);
      if (w.outcome === 'wrong-state') inconsistent.push(w); // the store checks the fence first
    }
  }
  const count = (outcome: WriteRecord['outcome']): number => timeline.writes.filter((w) => w.outcome === outcome).length;
  return {
    total: timeline.writes.length,
    accepted: count('ok'),
    refusedStaleFence: count('stale-fence'),
    refusedWrongState: count('wrong-state'),
    errors: count('error'),
    staleAttempted,
    staleRefused,
    staleAccepted,
    afterLoss: timeline.writes.filter((w) => w.kind === 'after-loss').length,
    inconsistent,
  };
}

/** Exactly-once recovery of the faulty conductor's nodes. */
export function auditRecoveries(timeline: Timeline, faulty: string | null, expected: readonly string[]): RecoveryAudit {
  const ofFault = timeline.recoveries.filter((r) => r.previous.owner === faulty);
  const others = timeline.recoveries.filter((r) => r.previous.owner !== faulty);
  const seen = new Map<string, number>();
  for (const r of timeline.recoveries) {
    const key = `${r.nodeId} (orphan of ${r.previous.owner}, fence ${r.previous.fence})`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return {
    expected,
    ofFault,
    others,
    duplicates: [...seen].filter(([, n]) => n > 1).map(([key]) => key),
    missing: expected.filter((nodeId) => !ofFault.some((r) => r.nodeId === nodeId)),
  };
}
