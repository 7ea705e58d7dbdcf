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
  /**
   * Overlaps allowed because a fault broke an assumption of mutual exclusion on purpose (a fault with `breaks`, e.g.
   * a Redis clock jump) between the first holder's acquisition and the second's: not counted in `overlaps`.
   */
  overlapsAllowed: number;
  /** Acquisitions of a resource whose fence did not exceed the previous acquisition's. */
  fencesNotGrowing: number;
  /** Writes accepted although a higher fence had already been accepted on the resource. */
  staleWritesAccepted: number;
  /** Writes the store refused by their fence (a higher one had landed): stale writes attempted and stopped. */
  staleWritesRejected: number;
  /** Writes rejected although no higher fence had been accepted (the store refused a current holder). */
  currentWritesRejected: number;
  /** Holders SIGKILLed by the runner. */
  killed: number;
  /** Orphans (unreleased leases: a killed holder's, and lost ones with `lostAreOrphans`) recovered once, twice or more, or never. */
  orphansRecoveredOnce: number;
  orphansRecoveredTwice: number;
  orphansNeverRecovered: number;
  /** Leases their holders reported lost. */
  leasesLost: number;
  /** Leases of live (not killed) holders that were neither released nor reported lost by the end: loss not loud. */
  leasesUnaccounted: number;
  /** How each recovery was triggered: an expiry event, a sweep, a worker's acquire (or not recorded). */
  recoveredBy: { event: number; sweep: number; acquire: number; other: number };
  /** The longest time from a holder's SIGKILL to the recovery of one of its orphans, ms (null: none). */
  recoveryMaxMs: number | null;
  /** The latest a lease was reported lost past its own validity deadline, ms (deadline losses only; null: none). */
  lossLateMaxMs: number | null;
  /** Failed acquire calls by error code (a plain "held by someone else" is not counted). */
  acquireErrors: Record<string, number>;
  /** Acquisitions from each fault to the next one (or the end): progress under each fault. */
  acquisitionsAfterFault: number[];
  /** Waits for a contended resource, when workers record them (the contention storm); null otherwise. */
  fairness: Fairness | null;
  /** Details of each violation, for the test's failure message. */
  details: string[];
}

/** How long waiters waited, from the `waitedMs` of acquire-ok (granted) and acquire-fail (gave up at the end). */
export interface Fairness {
  /** Waiting processes, and those that never got the resource. */
  workers: number;
  workersNeverAcquired: number;
  /** Acquisitions of the process that got the fewest and of the one that got the most. */
  minPerWorker: number;
  maxPerWorker: number;
  /** Granted waits: median, 99th percentile and longest, ms. */
  p50WaitMs: number;
  p99WaitMs: number;
  maxWaitMs: number;
  /** The longest wait that ended without a grant (the run ended first), ms: a lower bound on a wait. */
  maxUnfinishedWaitMs: number;
  /** The most grants to others during one process's single wait (a FIFO queue would keep it below the waiters). */
  maxBypassed: number;
}

interface Interval {
  resource: string;
  fence: number;
  who: string;
  from: number;
  to: number;
  /** When the acquire call started: the grant came between this and `from` (the answer). */
  startedAt: number;
}

/**
 * Checks a history. Intervals of holders that never said released/lost end when the holder was killed, or at
 * `endOfRun`. Orphans are unreleased leases, each to be recovered exactly once: those of killed processes with
 * `expectRecovery`, and those reported lost with `lostAreOrphans` (a lost lease is never released, so it expires as
 * an orphan; off only where the fault erases orphan records on purpose, as a Redis losing its data does).
 */
export function check(history: readonly Entry[], options: { endOfRun: number; expectRecovery: boolean; lostAreOrphans?: boolean }): CheckReport {
  const report: CheckReport = {
    acquisitions: 0,
    writesAccepted: 0,
    writesRejected: 0,
    faults: 0,
    overlaps: 0,
    overlapsAllowed: 0,
    fencesNotGrowing: 0,
    staleWritesAccepted: 0,
    staleWritesRejected: 0,
    currentWritesRejected: 0,
    killed: 0,
    orphansRecoveredOnce: 0,
    orphansRecoveredTwice: 0,
    orphansNeverRecovered: 0,
    leasesLost: 0,
    leasesUnaccounted: 0,
    recoveredBy: { event: 0, sweep: 0, acquire: 0, other: 0 },
    recoveryMaxMs: null,
    lossLateMaxMs: null,
    acquireErrors: {},
    acquisitionsAfterFault: [],
    fairness: null,
    details: [],
  };
  const killedAt = new Map<number, number>();
  for (const e of history) if (e.kind === 'killed') killedAt.set(e.victim, e.t);
  report.killed = killedAt.size;

  // Belief intervals: from acquire-ok to released/lost, or to the holder's death, or to the end of the run.
  const open = new Map<string, Interval & { pid: number; until: number }>();
  const intervals: (Interval & { pid: number; ended: 'released' | 'lost' | 'killed' | 'end' })[] = [];
  const lastFence = new Map<string, number>();
  for (const e of history) {
    if (e.kind === 'fault') {
      report.faults++;
      report.acquisitionsAfterFault.push(0);
    }
    if (e.kind === 'acquire-ok' && report.acquisitionsAfterFault.length > 0) report.acquisitionsAfterFault[report.acquisitionsAfterFault.length - 1]!++;
    if (e.kind === 'lost') report.leasesLost++;
    if (e.kind === 'acquire-fail' && e.error !== undefined) report.acquireErrors[e.error] = (report.acquireErrors[e.error] ?? 0) + 1;
    if (e.kind === 'recovered') {
      const by = e.trigger === 'event' || e.trigger === 'sweep' || e.trigger === 'acquire' ? e.trigger : 'other';
      report.recoveredBy[by]++;
    }
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
    if (e.kind === 'acquire-ok') {
      open.set(`${e.pid}:${e.resource}:${e.fence}`, { resource: e.resource, fence: e.fence, who: e.who, pid: e.pid, from: e.t, startedAt: e.startedAt ?? e.t, to: Infinity, until: Infinity });
    }
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
        if (e.kind === 'lost' && e.reason === 'deadline' && i.until !== Infinity) report.lossLateMaxMs = Math.max(report.lossLateMaxMs ?? 0, e.t - i.until);
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
    report.staleWritesRejected++;
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
    if (died === undefined) {
      report.leasesUnaccounted++;
      report.details.push(`lease of ${i.who} on ${i.resource} (fence ${i.fence}) was neither released nor reported lost`);
    }
  }

  // Overlaps: two holders of one resource believing at once. Allowed when a fault that breaks an assumption of mutual
  // exclusion on purpose came after the first holder asked for its lease and before the second got its own: a grant
  // in flight when the fault was recorded may be older than the fault (a clock jump then expires it too).
  const breaking = history.filter((e) => e.kind === 'fault' && e.breaks !== undefined).map((e) => e.t);
  const byResource = new Map<string, typeof intervals>();
  for (const i of intervals) byResource.set(i.resource, [...(byResource.get(i.resource) ?? []), i]);
  for (const list of byResource.values()) {
    list.sort((a, b) => a.from - b.from);
    for (let a = 0; a < list.length; a++) {
      for (let b = a + 1; b < list.length && list[b]!.from < list[a]!.to; b++) {
        if (breaking.some((t) => list[a]!.startedAt <= t && t <= list[b]!.from)) {
          report.overlapsAllowed++;
          continue;
        }
        report.overlaps++;
        report.details.push(`overlap on ${list[a]!.resource}: ${list[a]!.who} (fence ${list[a]!.fence}) until ${list[a]!.to.toFixed(1)} and ${list[b]!.who} (fence ${list[b]!.fence}) from ${list[b]!.from.toFixed(1)}`);
      }
    }
  }

  // Orphans: leases their holders never released, those of killed holders and (`lostAreOrphans`) those reported lost,
  // each recovered exactly once. A recovery names its orphan by fence (previousFence). A recovery that names a fence
  // no acquisition in the history had (a grant the lock manager gave back unused, as an orphan of its own, or a
  // recovery worker that failed midway and left its own lease an orphan) stands for the latest orphan of its
  // resource that ended before it and is not recovered yet.
  const orphans = intervals
    .filter((x) => (x.ended === 'killed' && options.expectRecovery) || (x.ended === 'lost' && options.lostAreOrphans === true))
    .sort((a, b) => a.to - b.to);
  const byFence = new Map(orphans.map((o) => [`${o.resource}:${o.fence}`, o]));
  const granted = new Set(history.flatMap((e) => (e.kind === 'acquire-ok' ? [`${e.resource}:${e.fence}`] : [])));
  const recoveries = new Map<(typeof orphans)[number], { n: number; first: number }>();
  for (const r of history) {
    if (r.kind !== 'recovered') continue;
    const key = `${r.resource}:${r.previousFence}`;
    let orphan = byFence.get(key);
    if (!orphan && !granted.has(key)) orphan = orphans.filter((o) => o.resource === r.resource && o.to <= r.t && !recoveries.has(o)).at(-1);
    if (!orphan) continue;
    const seen = recoveries.get(orphan);
    if (seen) seen.n++;
    else recoveries.set(orphan, { n: 1, first: r.t });
  }
  for (const o of orphans) {
    const { n, first } = recoveries.get(o) ?? { n: 0, first: 0 };
    const what = o.ended === 'killed' ? `orphan of ${o.who} (killed)` : `orphan of ${o.who} (lease lost)`;
    if (n > 0 && o.ended === 'killed') report.recoveryMaxMs = Math.max(report.recoveryMaxMs ?? 0, first - killedAt.get(o.pid)!);
    if (n === 1) report.orphansRecoveredOnce++;
    else if (n === 0) {
      report.orphansNeverRecovered++;
      report.details.push(`${what} on ${o.resource} (fence ${o.fence}) was never recovered`);
    } else {
      report.orphansRecoveredTwice++;
      report.details.push(`${what} on ${o.resource} (fence ${o.fence}) was recovered ${n} times`);
    }
  }
  report.fairness = fairness(history);
  return report;
}

/** Waits of a contention storm (null when no acquisition recorded how long it waited). */
function fairness(history: readonly Entry[]): Fairness | null {
  const granted = history.filter((e): e is Extract<Entry, { kind: 'acquire-ok' }> => e.kind === 'acquire-ok' && e.waitedMs !== undefined);
  if (granted.length === 0) return null;
  const unfinished = history.filter((e) => e.kind === 'acquire-fail' && e.waitedMs !== undefined) as Extract<Entry, { kind: 'acquire-fail' }>[];
  const perWorker = new Map<number, number>();
  for (const e of [...granted, ...unfinished]) perWorker.set(e.pid, perWorker.get(e.pid) ?? 0);
  for (const e of granted) perWorker.set(e.pid, perWorker.get(e.pid)! + 1);
  const waits = granted.map((e) => e.waitedMs!).sort((a, b) => a - b);
  const at = (q: number): number => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))]!;
  // Grants to others during each wait, by resource: times sorted, counted by binary search.
  const grantTimes = new Map<string, number[]>();
  for (const e of granted) grantTimes.set(e.resource, [...(grantTimes.get(e.resource) ?? []), e.t]);
  const countBefore = (times: number[], t: number): number => {
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let maxBypassed = 0;
  for (const e of [...granted, ...unfinished]) {
    const times = grantTimes.get(e.resource) ?? [];
    maxBypassed = Math.max(maxBypassed, countBefore(times, e.t) - countBefore(times, e.t - e.waitedMs!));
  }
  const counts = [...perWorker.values()];
  return {
    workers: perWorker.size,
    workersNeverAcquired: counts.filter((n) => n === 0).length,
    minPerWorker: Math.min(...counts),
    maxPerWorker: Math.max(...counts),
    p50WaitMs: at(0.5),
    p99WaitMs: at(0.99),
    maxWaitMs: waits.at(-1)!,
    maxUnfinishedWaitMs: Math.max(0, ...unfinished.map((e) => e.waitedMs!)),
    maxBypassed,
  };
}
