// The targets leasehold is held to, evaluated from one run's results (nothing here is hard-coded but the goals).
import { PEER_IDS, type ContenderId, type PeerId } from './contenders.js';
import type { ContendedResult } from './workloads/contended.js';
import type { MemoryRun } from './workloads/memory.js';
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

  const memory = results.memory.get('leasehold')!;
  targets.push({
    name: 'Redis memory per held lease',
    goal: '≤ 400 B',
    measured: `${memory.perLease.toFixed(0)} B`,
    met: memory.perLease <= 400,
  });
  return targets;
}
