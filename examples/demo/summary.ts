// The end of the run: the numbers, the invariants that held or failed, as a table for people and JSON for tools.
import { isTransientState, type Node } from 'leasehold';
import type { LeaseAudit, RecoveryAudit, WriteAudit } from './audit.js';
import type { DemoOptions } from './cli-options.js';
import type { Dispatcher } from './dispatcher.js';
import type { FaultRecord } from './fault.js';
import type { OperationOutcome } from './protocol.js';

/** Everything the demo found, as printed with --json. */
export interface Summary {
  readonly ok: boolean;
  readonly failures: readonly string[];
  readonly options: { readonly conductors: number; readonly nodes: number; readonly ttlMs: number; readonly fault: string; readonly seed: number };
  readonly redis: 'private redis-server' | 'REDIS_URL';
  readonly durationMs: number;
  readonly fault: { readonly kind: string; readonly conductor: string; readonly atMs: number; readonly resumedAtMs: number | null; readonly held: readonly string[] } | null;
  readonly finalStates: Readonly<Record<string, number>>;
  readonly recoveries: {
    readonly needed: number;
    readonly recovered: number;
    readonly byTrigger: Readonly<Record<string, number>>;
    readonly duplicates: number;
    readonly missing: readonly string[];
    readonly fromFaultMs: { readonly min: number; readonly p50: number; readonly max: number } | null;
    readonly ttlMs: number;
    readonly ofOtherHolders: number;
  };
  readonly leasesLeft: number;
  readonly nodeOrphansLeft: number;
  /** Liveness leases of conductors that died: expected after a kill, cleared when such a conductor starts again. */
  readonly deadConductorOrphans: readonly string[];
  readonly doubleHolds: number;
  readonly leaseSpansChecked: number;
  readonly resourcesChecked: number;
  readonly clockToleranceMs: number;
  readonly fenceRegressions: number;
  /** Takeovers naming a previous acquisition no report mentions (sent by a process just before it was killed). */
  readonly unreportedAcquisitions: number;
  readonly writes: { readonly total: number; readonly accepted: number; readonly refusedStaleFence: number; readonly refusedWrongState: number; readonly errors: number };
  readonly staleWrites: { readonly attempted: number; readonly rejected: number; readonly accepted: number; readonly afterLoss: number };
  readonly operations: Readonly<Record<OperationOutcome | 'abandoned', number>> & { readonly donePerConductor: Readonly<Record<string, number>> };
  readonly stuckNodes: readonly string[];
  readonly notices: number;
  readonly reportPath: string;
}

export interface SummaryInput {
  readonly options: DemoOptions;
  readonly privateServer: boolean;
  readonly startedAt: number;
  readonly fault: FaultRecord | null;
  readonly finalNodes: readonly Node[];
  readonly leasesLeft: number;
  readonly nodeOrphansLeft: number;
  readonly conductorOrphans: readonly string[];
  readonly leases: LeaseAudit;
  readonly writes: WriteAudit;
  readonly recoveries: RecoveryAudit;
  readonly dispatcher: Dispatcher;
  readonly toleranceMs: number;
  readonly notices: number;
  readonly processFailures: readonly string[];
  readonly reportPath: string;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function buildSummary(input: SummaryInput): Summary {
  const { options, fault, leases, writes, recoveries } = input;
  const finalStates: Record<string, number> = {};
  for (const node of input.finalNodes) finalStates[node.provisionState] = (finalStates[node.provisionState] ?? 0) + 1;
  const stuckNodes = input.finalNodes.filter((n) => isTransientState(n.provisionState)).map((n) => `${n.id} (${n.provisionState})`);
  const delays = fault ? recoveries.ofFault.map((r) => r.at - fault.at).sort((a, b) => a - b) : [];
  const byTrigger: Record<string, number> = {};
  for (const r of [...recoveries.ofFault, ...recoveries.others]) byTrigger[r.trigger] = (byTrigger[r.trigger] ?? 0) + 1;

  const failures = [...input.processFailures];
  if (stuckNodes.length) failures.push(`nodes left in a transient state with no live holder: ${stuckNodes.join(', ')}`);
  for (const d of leases.doubleHolds) failures.push(`double hold on ${d.resource}: ${d.first.owner} (fence ${d.first.fence}) and ${d.second.owner} (fence ${d.second.fence}) overlapped ${d.overlapMs.toFixed(0)} ms`);
  if (leases.unended > 0) failures.push(`${leases.unended} lease spans never reported ended: the checks above lack data`);
  if (leases.fenceRegressions.length) failures.push(`fences did not grow on ${leases.fenceRegressions.join(', ')}`);
  for (const w of writes.staleAccepted) failures.push(`stale write accepted on ${w.nodeId}: ${w.conductor} wrote ${w.to} with fence ${w.fence}`);
  for (const w of writes.inconsistent) failures.push(`the store refused a write on ${w.nodeId} inconsistently: ${w.error ?? w.outcome}`);
  if (recoveries.duplicates.length) failures.push(`recovered more than once: ${recoveries.duplicates.join(', ')}`);
  if (recoveries.missing.length) failures.push(`never recovered: ${recoveries.missing.join(', ')}`);
  if (input.leasesLeft > 0) failures.push(`${input.leasesLeft} leases left behind`);
  if (input.nodeOrphansLeft > 0) failures.push(`${input.nodeOrphansLeft} orphaned node leases left unrecovered`);

  const { donePerConductor, outcomes } = input.dispatcher;
  return {
    ok: failures.length === 0,
    failures,
    options: { conductors: options.conductors, nodes: options.nodes, ttlMs: options.ttlMs, fault: options.fault, seed: options.seed },
    redis: input.privateServer ? 'private redis-server' : 'REDIS_URL',
    durationMs: Date.now() - input.startedAt,
    fault: fault && {
      kind: fault.kind,
      conductor: fault.conductor,
      atMs: fault.at - input.startedAt,
      resumedAtMs: fault.resumedAt === null ? null : fault.resumedAt - input.startedAt,
      held: fault.held,
    },
    finalStates,
    recoveries: {
      needed: recoveries.expected.length,
      recovered: recoveries.ofFault.length,
      byTrigger,
      duplicates: recoveries.duplicates.length,
      missing: recoveries.missing,
      fromFaultMs: delays.length ? { min: delays[0]!, p50: quantile(delays, 0.5), max: delays.at(-1)! } : null,
      ttlMs: options.ttlMs,
      ofOtherHolders: recoveries.others.length,
    },
    leasesLeft: input.leasesLeft,
    nodeOrphansLeft: input.nodeOrphansLeft,
    deadConductorOrphans: input.conductorOrphans,
    doubleHolds: leases.doubleHolds.length,
    leaseSpansChecked: leases.spans,
    resourcesChecked: leases.resources,
    clockToleranceMs: input.toleranceMs,
    fenceRegressions: leases.fenceRegressions.length,
    unreportedAcquisitions: leases.unreported,
    writes: { total: writes.total, accepted: writes.accepted, refusedStaleFence: writes.refusedStaleFence, refusedWrongState: writes.refusedWrongState, errors: writes.errors },
    staleWrites: { attempted: writes.staleAttempted, rejected: writes.staleRefused, accepted: writes.staleAccepted.length, afterLoss: writes.afterLoss },
    operations: { ...outcomes, donePerConductor: Object.fromEntries([...donePerConductor].sort()) },
    stuckNodes,
    notices: input.notices,
    reportPath: input.reportPath,
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** The summary as rows of (what, value). */
export function summaryRows(s: Summary): [string, string][] {
  const rows: [string, string][] = [];
  const states = Object.entries(s.finalStates).sort(([, a], [, b]) => b - a).map(([state, n]) => `${state} ${n}`);
  rows.push(['nodes per final state', states.join(' · ')]);
  if (s.fault) {
    const resumed = s.fault.resumedAtMs === null ? '' : `, SIGCONT at ${seconds(s.fault.resumedAtMs)}`;
    rows.push(['fault', `${s.fault.kind} ${s.fault.conductor} at ${seconds(s.fault.atMs)}${resumed}, holding ${s.fault.held.length} nodes`]);
  }
  const r = s.recoveries;
  const triggers = Object.entries(r.byTrigger).map(([t, n]) => `${t} ${n}`).join(', ');
  rows.push(['recoveries needed / done', `${r.needed} / ${r.recovered}${triggers ? ` (found by: ${triggers})` : ''}, duplicates ${r.duplicates}`]);
  if (r.fromFaultMs) {
    const { min, p50, max } = r.fromFaultMs;
    rows.push([`${s.fault?.kind === 'pause' ? 'SIGSTOP' : 'kill'} -> recovery`, `min ${seconds(min)} · p50 ${seconds(p50)} · max ${seconds(max)} (TTL ${seconds(r.ttlMs)}; max = ${(max / r.ttlMs).toFixed(2)} × TTL)`]);
  }
  if (r.ofOtherHolders) rows.push(['other recoveries', `${r.ofOtherHolders} (a survivor's lease ended unreleased)`]);
  rows.push(['leases left (must be 0)', `${s.leasesLeft} live, ${s.nodeOrphansLeft} orphaned node leases`]);
  if (s.deadConductorOrphans.length) rows.push(['dead conductors', `${s.deadConductorOrphans.join(', ')}: liveness lease expired, listed offline`]);
  rows.push(['double holds seen (must be 0)', `${s.doubleHolds} (${s.leaseSpansChecked} lease spans on ${s.resourcesChecked} resources compared, ±${s.clockToleranceMs} ms)`]);
  const w = s.staleWrites;
  rows.push(['stale writes', `attempted ${w.attempted} · rejected by the fence ${w.rejected} · accepted ${w.accepted} (must be 0)`]);
  rows.push(['writes', `${s.writes.total}: accepted ${s.writes.accepted}, refused as stale ${s.writes.refusedStaleFence}, wrong state ${s.writes.refusedWrongState}, errors ${s.writes.errors}`]);
  const o = s.operations;
  const per = Object.entries(o.donePerConductor).map(([c, n]) => `${c} ${n}`).join(', ');
  rows.push(['operations', `done ${o.done} (${per}) · refused, node locked ${o.locked} · cut short ${o.lost + o.abandoned}`]);
  rows.push(['duration', seconds(s.durationMs)]);
  rows.push(['invariants', s.ok ? 'all held' : `FAILED (${s.failures.length})`]);
  rows.push(['report', s.reportPath]);
  return rows;
}

/** The summary as a two-column text table. */
export function formatSummary(s: Summary): string {
  const rows = summaryRows(s);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const failures = s.failures.map((f) => `  ✗ ${f}`);
  return ['', 'summary', ...lines, ...(failures.length ? ['', ...failures] : [])].join('\n');
}
