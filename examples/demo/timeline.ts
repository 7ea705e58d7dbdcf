// Everything that happened, as the conductor processes reported it and the demo did it: lease intervals per
// resource, writes per node, recoveries, and the marks of the fault. The audit, the live view and the report read
// from here.
import { nodeIdOf, type ProvisionStateValue } from 'leasehold';
import type { Report, WriteReport } from './protocol.js';

/** One lease, by the lock's own record: from its grant to when its holder stopped believing in it. */
export interface LeaseSpan {
  readonly resource: string;
  readonly owner: string;
  /** The process that held it. */
  readonly conductor: string;
  readonly fence: number;
  /** When Redis granted it (server clock), moved onto the local clock. */
  readonly start: number;
  /** The holder's last known local validity deadline. */
  validUntil: number;
  /** When the holder stopped believing: release called, lost (capped at its deadline), or its process killed. */
  end: number | null;
  how: 'released' | 'lost' | 'died' | null;
  readonly previous: { readonly owner: string; readonly fence: number } | null;
}

/** One write to the node store, with the conductor that made it. */
export interface WriteRecord extends WriteReport {
  readonly conductor: string;
}

/** One node moved to its failed state because its holder's lease ended unreleased. */
export interface RecoveryRecord {
  readonly nodeId: string;
  readonly from: ProvisionStateValue;
  readonly to: ProvisionStateValue;
  readonly fence: number;
  readonly previous: { readonly owner: string; readonly fence: number };
  readonly trigger: string;
  readonly by: string;
  readonly at: number;
}

/** Something the demo did to a conductor. */
export interface Mark {
  readonly kind: 'kill' | 'pause' | 'resume' | 'stop';
  readonly conductor: string;
  readonly at: number;
}

/** A node's state from a time on. */
export interface StatePoint {
  readonly at: number;
  readonly state: ProvisionStateValue;
}

export class Timeline {
  readonly startedAt = Date.now();
  readonly spans = new Map<string, LeaseSpan[]>();
  readonly writes: WriteRecord[] = [];
  readonly recoveries: RecoveryRecord[] = [];
  readonly skipped: { nodeId: string; reason: string; at: number }[] = [];
  readonly marks: Mark[] = [];
  readonly notices: { conductor: string; message: string; at: number }[] = [];
  readonly states = new Map<string, StatePoint[]>();
  /** Server clock minus local clock, ms, as measured at the start: moves lock grant times onto the local clock. */
  readonly serverOffsetMs: number;
  /** Killed processes and when: reports still in flight from them are read in that light. */
  readonly #deadAt = new Map<string, number>();

  constructor(serverOffsetMs: number) {
    this.serverOffsetMs = serverOffsetMs;
  }

  /** A node the demo enrolled, in its first state. */
  enrolled(nodeId: string, state: ProvisionStateValue, at: number): void {
    this.states.set(nodeId, [{ at, state }]);
  }

  mark(mark: Mark): void {
    this.marks.push(mark);
    if (mark.kind === 'kill') this.died(mark.conductor, mark.at);
  }

  /** Takes one report from a conductor process. */
  ingest(report: Report): void {
    switch (report.type) {
      case 'lease-acquired': {
        const list = this.spans.get(report.resource) ?? [];
        const deadAt = this.#deadAt.get(report.conductor);
        list.push({
          resource: report.resource,
          owner: report.owner,
          conductor: report.conductor,
          fence: report.fence,
          start: report.acquiredAt - this.serverOffsetMs,
          validUntil: report.validUntil,
          end: deadAt ?? null,
          how: deadAt === undefined ? null : 'died',
          previous: report.previous,
        });
        this.spans.set(report.resource, list);
        return;
      }
      case 'lease-extended': {
        const span = this.#span(report.resource, report.fence);
        if (span) span.validUntil = Math.max(span.validUntil, report.validUntil);
        return;
      }
      case 'lease-ended': {
        const span = this.#span(report.resource, report.fence);
        const end = Math.min(report.wall, span?.validUntil ?? Infinity);
        // A report sent just before a SIGKILL may arrive after it: the earlier end wins.
        if (span && (span.end === null || (span.how === 'died' && end < span.end))) {
          span.how = report.how;
          span.end = end;
        }
        return;
      }
      case 'write': {
        const r = report;
        this.writes.push({
          nodeId: r.nodeId,
          conductor: r.conductor,
          kind: r.kind,
          fence: r.fence,
          from: r.from,
          to: r.to,
          outcome: r.outcome,
          storedFence: r.storedFence,
          sentAt: r.sentAt,
          answeredAt: r.answeredAt,
          error: r.error,
        });
        if (r.outcome === 'ok') this.#state(r.nodeId, r.answeredAt, r.to);
        return;
      }
      case 'recovered': {
        const r = report;
        this.recoveries.push({ nodeId: r.nodeId, from: r.from, to: r.to, fence: r.fence, previous: r.previous, trigger: r.trigger, by: r.by, at: r.wall });
        return;
      }
      case 'recovery-skipped':
        this.skipped.push({ nodeId: report.nodeId, reason: report.reason, at: report.wall });
        return;
      case 'notice':
        this.notices.push({ conductor: report.conductor, message: report.message, at: report.wall });
        return;
      default:
        return;
    }
  }

  /** Every lease span, all resources. */
  allSpans(): LeaseSpan[] {
    return [...this.spans.values()].flat();
  }

  /** Node leases a conductor process holds now (by its reports). */
  heldBy(conductor: string): LeaseSpan[] {
    return this.allSpans().filter((s) => s.conductor === conductor && s.end === null && nodeIdOf(s.resource) !== null);
  }

  /** Who holds a node now, by the reports, or `null`. */
  holderOf(nodeId: string): LeaseSpan | null {
    return this.spans.get(`node:${nodeId}`)?.findLast((s) => s.end === null) ?? null;
  }

  /** A node's last state written (or enrolled). */
  stateOf(nodeId: string): ProvisionStateValue | null {
    return this.states.get(nodeId)?.at(-1)?.state ?? null;
  }

  /** The leases of a killed process end when it dies: nothing acts after SIGKILL. */
  died(conductor: string, at: number): void {
    this.#deadAt.set(conductor, at);
    for (const span of this.allSpans()) {
      if (span.conductor === conductor && span.end === null) {
        span.end = at;
        span.how = 'died';
      }
    }
  }

  #span(resource: string, fence: number): LeaseSpan | undefined {
    return this.spans.get(resource)?.find((s) => s.fence === fence);
  }

  #state(nodeId: string, at: number, state: ProvisionStateValue): void {
    const points = this.states.get(nodeId) ?? [];
    // Reports from different processes may arrive out of order: keep the points sorted by time.
    let i = points.length;
    while (i > 0 && points[i - 1]!.at > at) i--;
    points.splice(i, 0, { at, state });
    this.states.set(nodeId, points);
  }
}
