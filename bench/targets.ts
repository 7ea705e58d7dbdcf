// The targets leasehold is held to, evaluated from one run's results (nothing here is hard-coded but the goals).
import { PEER_IDS, type ContenderId, type PeerId } from './contenders.js';
import { percentile } from './stats.js';
import type { ContendedResult } from './workloads/contended.js';
import type { MassOrphanRun } from './workloads/mass-orphan.js';
import type { MemoryRun } from './workloads/memory.js';
import type { RecoveryLatencyResult } from './workloads/recovery-latency.js';
import type { RenewalResult } from './workloads/renewal.js';
import type { UncontendedResult } from './workloads/uncontended.js';

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

export interface Results {
  readonly uncontended: readonly UncontendedResult[];
  readonly contended: ContendedResult;
  readonly renewal: RenewalResult;
  readonly memory: ReadonlyMap<ContenderId, MemoryRun>;
  /** Kill-to-failed latency: expiry events heard, then dropped. */
  readonly recoveryLatency: readonly RecoveryLatencyResult[];
  readonly massOrphan: readonly MassOrphanRun[];
  /** The recovery manager's default concurrency (the mass-orphaning target is about it). */
  readonly defaultRecoveryConcurrency: number;
}

/** Fewest SIGKILLs a latency figure may rest on. */
export const MIN_KILLS = 30;
/** Slack over TTL (and over TTL + sweep period when events are dropped) a kill-to-failed p99 may take, ms. */
export const LATENCY_SLACK_MS = 250;
/** Longest a mass orphaning may take from the first lease expiry until every node is failed, ms. */
export const MASS_ORPHAN_GOAL_MS = 5_000;

/** `TTL + 37 ms` or `TTL − 120 ms`: a duration relative to the TTL. */
export function relativeToTtl(ms: number, ttlMs: number): string {
  const delta = Math.round(ms - ttlMs);
  return delta >= 0 ? `TTL + ${delta} ms` : `TTL − ${-delta} ms`;
}

/** What a latency result's kills came to: their count, p99 of kill-to-failed and whether each node was failed once. */
export function latencySummary(result: RecoveryLatencyResult): { kills: number; p50: number; p99: number; max: number; clean: boolean } {
  const values = result.samples.map((s) => s.killToFailedMs);
  const clean = result.unrecovered.length === 0 && result.duplicates === 0 && result.wrongState === 0;
  return { kills: values.length + result.unrecovered.length, p50: percentile(values, 50), p99: result.unrecovered.length > 0 ? Infinity : percentile(values, 99), max: Math.max(...values), clean };
}

/** The peer with the highest (or lowest, with `lowest`) value, by `value`. */
function bestPeer(value: (id: PeerId) => number, lowest = false): { id: PeerId; value: number } {
  let best: { id: PeerId; value: number } | null = null;
  for (const id of PEER_IDS) {
    const v = value(id);
    if (best === null || (lowest ? v < best.value : v > best.value)) best = { id, value: v };
  }
  return best!;
}

const x = (ratio: number): string => `${ratio.toFixed(2)}×`;

export function evaluateTargets(results: Results): Target[] {
  const targets: Target[] = [];
  for (const run of results.uncontended) {
    const lh = run.median.get('leasehold')!.opsPerSec;
    const raw = run.median.get('raw')!.opsPerSec;
    targets.push({
      name: `acquire+release, concurrency ${run.concurrency}: vs raw floor`,
      goal: '≥ 0.90× raw',
      measured: `${x(lh / raw)} (${Math.round(lh)} vs ${Math.round(raw)} ops/s)`,
      met: lh / raw >= 0.9,
    });
    const peer = bestPeer((id) => run.median.get(id)!.opsPerSec);
    targets.push({
      name: `acquire+release, concurrency ${run.concurrency}: vs every peer`,
      goal: '≥ 1.00× best peer',
      measured: `${x(lh / peer.value)} of best peer ${peer.id} (${Math.round(lh)} vs ${Math.round(peer.value)} ops/s)`,
      met: lh / peer.value >= 1,
    });
  }

  const lhRenewal = results.renewal.median.get('leasehold')!;
  targets.push({
    name: 'renewing 10,000 leases: client requests',
    goal: '≤ 20 requests',
    measured: `${lhRenewal.clientRequests} requests (server saw ${lhRenewal.serverScripts} script calls)`,
    met: lhRenewal.clientRequests <= 20 && lhRenewal.serverScripts <= 20,
  });
  const peerRenewal = bestPeer((id) => results.renewal.median.get(id)!.wallMs, true);
  targets.push({
    name: 'renewing 10,000 leases: wall time',
    goal: '≤ 0.20× best peer',
    measured: `${x(lhRenewal.wallMs / peerRenewal.value)} of best peer ${peerRenewal.id} (${lhRenewal.wallMs.toFixed(1)} vs ${peerRenewal.value.toFixed(1)} ms)`,
    met: lhRenewal.wallMs / peerRenewal.value <= 0.2,
  });

  const lhContended = results.contended.median.get('leasehold')!;
  const lhViolations = results.contended.runs.get('leasehold')!.reduce((sum, r) => sum + r.violations, 0);
  const peerContended = bestPeer((id) => results.contended.median.get(id)!.rate);
  targets.push({
    name: '16 workers on one resource: critical sections/s, no violations',
    goal: '≥ 1.00× best peer, 0 violations',
    measured:
      `${x(lhContended.rate / peerContended.value)} of best peer ${peerContended.id} ` +
      `(${lhContended.rate.toFixed(1)} vs ${peerContended.value.toFixed(1)} CS/s), ${lhViolations} violations`,
    met: lhContended.rate / peerContended.value >= 1 && lhViolations === 0,
  });

  for (const result of results.recoveryLatency) {
    const { kills, p50, p99, clean } = latencySummary(result);
    const events = result.variant === 'events';
    const bound = result.ttlMs + (events ? 0 : result.sweepIntervalMs) + LATENCY_SLACK_MS;
    targets.push({
      name: events ? 'SIGKILL to failed, expiry events heard: p99' : `SIGKILL to failed, expiry events dropped (sweep every ${result.sweepIntervalMs} ms): p99`,
      goal: `≤ TTL + ${events ? '' : 'sweep + '}${LATENCY_SLACK_MS} ms (${bound} ms), ≥ ${MIN_KILLS} kills, each node failed once`,
      measured:
        `p99 ${relativeToTtl(p99, result.ttlMs)} (${p99.toFixed(0)} ms), p50 ${relativeToTtl(p50, result.ttlMs)}, over ${kills} kills; ` +
        `${result.unrecovered.length} unrecovered, ${result.duplicates} recovered twice, ${result.wrongState} not in deploy failed`,
      met: p99 <= bound && kills >= MIN_KILLS && clean,
    });
  }

  const defaults = results.massOrphan.filter((r) => r.events && r.concurrency === results.defaultRecoveryConcurrency);
  if (defaults.length > 0) {
    const worst = defaults.reduce((a, b) => (b.allFailedMs > a.allFailedMs ? b : a));
    const complete = defaults.every((r) => r.recovered === r.nodes && r.inFailedState === r.nodes && r.duplicates === 0);
    targets.push({
      name: `${worst.nodes.toLocaleString('en-US')} nodes orphaned at once: all failed after the first expiry (concurrency ${worst.concurrency}, events)`,
      goal: `≤ ${MASS_ORPHAN_GOAL_MS / 1000} s, every node failed once`,
      measured:
        `worst of ${defaults.length} run${defaults.length === 1 ? '' : 's'}: ${(worst.allFailedMs / 1000).toFixed(2)} s ` +
        `(${defaults.map((r) => (r.allFailedMs / 1000).toFixed(2)).join(', ')} s); ${complete ? 'every node failed once' : 'NOT every node failed exactly once'}`,
      met: worst.allFailedMs <= MASS_ORPHAN_GOAL_MS && complete,
    });
  }

  const memory = results.memory.get('leasehold')!;
  targets.push({
    name: 'Redis memory per held lease',
    goal: '≤ 400 B',
    measured: `${memory.perLease.toFixed(0)} B`,
    met: memory.perLease <= 400,
  });
  return targets;
}
