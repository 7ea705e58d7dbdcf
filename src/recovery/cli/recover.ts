import { hostname } from 'node:os';
import type { HolderInfo } from '../../lock/errors.js';
import { LiveLeaseError } from '../errors.js';
import { RedisEventLog } from '../event-log.js';
import { RecoveryManager, type RecoverNodeResult } from '../recovery-manager.js';
import type { CliArgs } from './args.js';
import { EXIT, errorCodeOf, exitCodeOf, type ExitCode } from './exit-codes.js';
import { duration, holder } from './format.js';
import type { Output } from './output.js';
import type { Session } from './session.js';
import { openNodeStore } from './store.js';

/** What `recover` did with one node, as `--json` prints it. */
export interface NodeReport {
  readonly nodeId: string;
  readonly exitCode: ExitCode;
  /** `recovered`, `skipped` or `failed` (what `recoverNode` resolved to), or `refused` when it threw. */
  readonly outcome: 'recovered' | 'skipped' | 'failed' | 'refused';
  /** The live lease broken with `--force`, if any. */
  readonly broke: HolderInfo | null;
  /** The outcome's details (from, to, fence, previous holder, skip reason), when `recoverNode` resolved. */
  readonly result: RecoverNodeResult | null;
  /** Why it failed or was refused. */
  readonly error: { readonly code: string; readonly message: string; readonly holder?: HolderInfo; readonly ttlMs?: number | null } | null;
}

/**
 * `leasehold recover <node...>`: recovers each node through `RecoveryManager.recoverNode` (an orphan as the
 * recovery managers would; a live lease only with `--force --reason`), prints each result, and exits with the
 * highest exit code. Its recoveries are published to `recovery-events` (so `watch` shows them) and forced
 * breaks audited in `audit`.
 */
export async function runRecover(args: CliArgs, session: Session, output: Output): Promise<ExitCode> {
  const { redis, prefix, locks } = session;
  const store = await openNodeStore(args.store, redis, prefix);
  try {
    const manager = new RecoveryManager({
      locks,
      nodes: store.nodes,
      id: `cli-${process.pid}@${hostname()}`,
      eventLog: new RedisEventLog(redis, 'recovery-events', { prefix }),
      audit: new RedisEventLog(redis, 'audit', { prefix }),
    });
    manager.on('error', (error) => output.err(`warning: ${error instanceof Error ? error.message : String(error)}`));
    const reports: NodeReport[] = [];
    for (const nodeId of args.nodes) {
      const report = await recoverOne(manager, nodeId, args);
      reports.push(report);
      if (!args.json) {
        const line = `${nodeId}: ${describe(report)}`;
        if (report.exitCode === EXIT.ok) output.out(line);
        else output.err(line);
      }
    }
    const exitCode = reports.reduce<ExitCode>((worst, r) => (r.exitCode > worst ? r.exitCode : worst), EXIT.ok);
    if (args.json) output.data({ redis: session.where, prefix, store: store.where, actor: args.actor, results: reports, exitCode });
    return exitCode;
  } finally {
    await store.close();
  }
}

async function recoverOne(manager: RecoveryManager, nodeId: string, args: CliArgs): Promise<NodeReport> {
  try {
    const result = await manager.recoverNode(nodeId, { actor: args.actor, force: args.force, ...(args.reason === null ? {} : { reason: args.reason }) });
    return { nodeId, exitCode: exitCodeOfResult(result), outcome: result.outcome, broke: result.broke, result, error: result.outcome === 'failed' ? errorJson(result.error) : null };
  } catch (error) {
    return { nodeId, exitCode: exitCodeOf(error), outcome: 'refused', broke: null, result: null, error: errorJson(error) };
  }
}

/** Skips mean: nothing to fail (0), the node vanished (4), someone recovered it first (5), someone holds it now (6). */
function exitCodeOfResult(result: RecoverNodeResult): ExitCode {
  if (result.outcome === 'recovered') return EXIT.ok;
  if (result.outcome === 'failed') return EXIT.unexpected;
  switch (result.reason) {
    case 'stable':
      return EXIT.ok;
    case 'node-missing':
      return EXIT.unknownNode;
    case 'not-orphaned':
      return EXIT.notOrphaned;
    case 'held':
      return EXIT.liveLease;
  }
}

function errorJson(error: unknown): NonNullable<NodeReport['error']> {
  const base = { code: errorCodeOf(error), message: error instanceof Error ? error.message : String(error) };
  return error instanceof LiveLeaseError ? { ...base, holder: error.holder, ttlMs: error.ttlMs } : base;
}

function describe(report: NodeReport): string {
  const broke = report.broke ? `broke the live lease of ${holder(report.broke)} (audit record written); ` : '';
  const { result, error } = report;
  if (result?.outcome === 'recovered') {
    return `${broke}recovered: "${result.from}" -> "${result.to}", written with fence ${result.fence}; its lease was held by ${holder(result.previous)}`;
  }
  if (result?.outcome === 'skipped') {
    const why = {
      stable: 'the node is in a stable state: nothing to fail, its orphan record was cleared',
      'node-missing': 'the node no longer exists: its orphan record was cleared',
      'not-orphaned': 'nothing to recover any more: it was recovered or released meanwhile',
      held: 'someone took the node meanwhile (a conductor or recovery manager, which recovers it itself); see leasehold status',
    }[result.reason];
    return `${broke}skipped: ${why}`;
  }
  if (result?.outcome === 'failed') return `${broke}recovery failed, the node is left to be found again: ${error?.message ?? '?'}`;
  if (error?.holder) {
    const left = error.ttlMs === null || error.ttlMs === undefined ? '' : `, ${duration(error.ttlMs)} left unless renewed`;
    return (
      `refused: live lease held by ${holder(error.holder)}${left}. If that holder is alive, let it finish; if you know it is ` +
      `dead or stuck: leasehold recover ${report.nodeId} --force --reason "..."`
    );
  }
  return error?.message ?? 'failed';
}
