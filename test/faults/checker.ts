// The history checker: reads a merged history and reports every violation of DESIGN.md section 2 it can see.
import type { Entry } from './history.js';

/** What the checker found. Every number must read 0 where 0 is promised. */
export interface CheckReport {
  acquisitions: number;
  writesAccepted: number;
  writesRejected: number;
  faults: number;
  /** Pairs of holders of one resource whose belief intervals overlapped. */
  overlaps: number;
  /** Acquisitions of a resource whose fence did not exceed the previous acquisition's. */
  fencesNotGrowing: number;
  /** Writes accepted although a higher fence had already been accepted on the resource. */
  staleWritesAccepted: number;
  /** Writes rejected although no higher fence had been accepted (the store refused a current holder). */
  currentWritesRejected: number;
  /** Orphans (a killed holder's unreleased leases) recovered once, twice or more, or never. */
  orphansRecoveredOnce: number;
  orphansRecoveredTwice: number;
  orphansNeverRecovered: number;
  /** Details of each violation, for the test's failure message. */
  details: string[];
}

interface Interval {
  resource: string;
  fence: number;
  who: string;
  from: number;
  to: number;
}

/**
 * Checks a history. `leaseEnds` closes intervals of holders that never said released/lost (killed ones end when
 * killed). Orphans are the unreleased leases of killed processes; they must be recovered exactly once, unless the
 * scenario says `orphansExpected: false` (e.g. when a process was killed between leases).
 */
export function check(history: readonly Entry[], options: { endOfRun: number; expectRecovery: boolean }): CheckReport {
  const report: CheckReport = {
    acquisitions: 0,
    writesAccepted: 0,
    writesRejected: 0,
    faults: 0,
    overlaps: 0,
    fencesNotGrowing: 0,
    staleWritesAccepted: 0,
    currentWritesRejected: 0,
    orphansRecoveredOnce: 0,
    orphansRecoveredTwice: 0,
    orphansNeverRecovered: 0,
    details: [],
  };
  const killedAt = new Map<number, number>();
  for (const e of history) if (e.kind === 'killed') killedAt.set(e.victim, e.t);

  // Belief intervals: from acquire-ok to released/lost, or to the holder's death, or to the end of the run.
  const open = new Map<string, Interval & { pid: number; until: number }>();
  const intervals: (Interval & { pid: number; ended: 'released' | 'lost' | 'killed' | 'end' })[] = [];
  const lastFence = new Map<string, number>();
  for (const e of history) {
    if (e.kind === 'fault') report.faults++;
    if (e.kind === 'acquire-ok' || e.kind === 'recovered') {
      const fence = e.fence;
      if (e.kind === 'acquire-ok') report.acquisitions++;
      const last = lastFence.get(e.resource) ?? 0;
      if (e.kind === 'acquire-ok' && fence <= last) {
        report.fencesNotGrowing++;
        report.details.push(`fence ${fence} of ${e.who} on ${e.resource} does not exceed ${last}`);
      }
      lastFence.set(e.resource, Math.max(last, fence));
    }
    if (e.kind === 'acquire-ok') open.set(`${e.pid}:${e.resource}:${e.fence}`, { resource: e.resource, fence: e.fence, who: e.who, pid: e.pid, from: e.t, to: Infinity, until: Infinity });
    if (e.kind === 'valid') {
      // The holder's local validity deadline (monotonic): it stops believing there, even if paused past it.
      const i = open.get(`${e.pid}:${e.resource}:${e.fence}`);
      if (i) i.until = e.until;
    }
    if (e.kind === 'released' || e.kind === 'lost') {
      const key = `${e.pid}:${e.resource}:${e.fence}`;
      const i = open.get(key);
      if (i) {
        open.delete(key);
        intervals.push({ ...i, to: Math.min(e.t, i.until), ended: e.kind });
      }
    }
    if (e.kind === 'write-ok') report.writesAccepted++;
    if (e.kind === 'write-rejected') report.writesRejected++;
  }

  // Stale writes: an accepted write is stale when a write with a higher fence had already been accepted (answered)
  // before it was even sent. Writes in flight together may land in either order: the store decides, and only
  // what it could not have known is a violation.
  // A recovery's write of the failed state is an accepted write too (recorded once answered; its send time is not
  // known, so its answer time stands for both, which only ever makes the check stricter for later writes).
  const accepted: { resource: string; fence: number; t: number; sentAt: number; who: string }[] = history.flatMap((e) =>
    e.kind === 'write-ok' ? [e] : e.kind === 'recovered' && e.fence > 0 ? [{ resource: e.resource, fence: e.fence, t: e.t, sentAt: e.t, who: e.who }] : [],
  );
  for (const w of history) {
    if (w.kind !== 'write-ok') continue;
    const newer = accepted.find((v) => v.resource === w.resource && v.fence > w.fence && v.t < w.sentAt);
    if (newer) {
      report.staleWritesAccepted++;
      report.details.push(`stale write accepted: ${w.who} wrote ${w.resource} with fence ${w.fence} after fence ${newer.fence} had been accepted`);
    }
  }
  for (const r of history) {
    if (r.kind !== 'write-rejected' || r.error !== 'STALE_FENCE') continue;
    // A rejection by fence means a higher fence reached the store first: some accepted write with a higher fence must
    // have been sent before this one was answered.
    if (!accepted.some((v) => v.resource === r.resource && v.fence > r.fence && v.sentAt < r.t + 1_000)) {
      report.currentWritesRejected++;
      report.details.push(`write by ${r.who} on ${r.resource} with fence ${r.fence} rejected as stale, but the history shows no higher fence written`);
    }
  }
  for (const i of open.values()) {
    const died = killedAt.get(i.pid);
    intervals.push({ ...i, to: Math.min(died ?? options.endOfRun, i.until), ended: died === undefined ? 'end' : 'killed' });
  }

  // Overlaps: two holders of one resource believing at once.
  const byResource = new Map<string, typeof intervals>();
  for (const i of intervals) byResource.set(i.resource, [...(byResource.get(i.resource) ?? []), i]);
  for (const list of byResource.values()) {
    list.sort((a, b) => a.from - b.from);
    for (let a = 0; a < list.length; a++) {
      for (let b = a + 1; b < list.length && list[b]!.from < list[a]!.to; b++) {
        report.overlaps++;
        report.details.push(`overlap on ${list[a]!.resource}: ${list[a]!.who} (fence ${list[a]!.fence}) until ${list[a]!.to.toFixed(1)} and ${list[b]!.who} (fence ${list[b]!.fence}) from ${list[b]!.from.toFixed(1)}`);
      }
    }
  }

  // Orphans: unreleased leases of killed holders, each recovered exactly once (matched by the orphan's fence).
  if (options.expectRecovery) {
    const recoveries = new Map<string, number>();
    for (const e of history) if (e.kind === 'recovered') recoveries.set(`${e.resource}:${e.previousFence}`, (recoveries.get(`${e.resource}:${e.previousFence}`) ?? 0) + 1);
    for (const i of intervals.filter((x) => x.ended === 'killed')) {
      const n = recoveries.get(`${i.resource}:${i.fence}`) ?? 0;
      if (n === 1) report.orphansRecoveredOnce++;
      else if (n === 0) {
        report.orphansNeverRecovered++;
        report.details.push(`orphan of ${i.who} on ${i.resource} (fence ${i.fence}) was never recovered`);
      } else {
        report.orphansRecoveredTwice++;
        report.details.push(`orphan of ${i.who} on ${i.resource} (fence ${i.fence}) was recovered ${n} times`);
      }
    }
  }
  return report;
}
