// One provisioning operation in a conductor process: reserve the node (an exclusive, heartbeated lease), write each
// state of the operation with the lease's fence, stay in each transient state a while, release.
import {
  ConductorStoppedError,
  NodeLockedError,
  type Conductor,
  type NodeStore,
  type NodeTask,
  type ProvisionStateValue,
  type TaskTransitionOptions,
} from 'leasehold';
import type { OperateOrder, OperationOutcome, WriteOutcome, WriteReport } from './protocol.js';

/** What an operation needs from its process. */
export interface OperationContext {
  readonly conductor: Conductor;
  readonly nodes: NodeStore;
  /** Reports one write to the parent. */
  readonly wrote: (write: WriteReport) => void;
  /** When each node's reservation began (a takeover found while reserving is timed from it). */
  readonly reserving: Map<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : String(error);
}

function outcomeOf(error: unknown): WriteOutcome {
  const code = codeOf(error);
  return code === 'STALE_FENCE' ? 'stale-fence' : code === 'INVALID_STATE' ? 'wrong-state' : 'error';
}

/**
 * Writes `to` with the task's fence. While the lease is held this is `task.transition()`, as a service writes. Once
 * the lease is known lost, the demo still makes the write, straight to the store with the old fence: that is what
 * a holder paused just after it checked its lease does when it resumes, and the store's fence check is what must
 * refuse it. A task aborted for another reason (the conductor stopping) writes nothing.
 */
async function write(context: OperationContext, task: NodeTask, to: ProvisionStateValue, fields: TaskTransitionOptions): Promise<boolean> {
  const lost = task.lease.state === 'lost';
  if (!lost && task.signal.aborted) return false;
  const from = task.node.provisionState;
  const sentAt = Date.now();
  const report = (outcome: WriteOutcome, storedFence: number | null, error: string | null): void =>
    context.wrote({ nodeId: task.nodeId, kind: lost ? 'after-loss' : 'task', fence: task.fence, from, to, outcome, storedFence, sentAt, answeredAt: Date.now(), error });
  try {
    if (lost) await context.nodes.transition(task.nodeId, { from: [from], to, fence: task.fence, ...fields });
    else await task.transition(to, fields);
    report('ok', null, null);
    return true;
  } catch (error) {
    const stored = (error as { storedFence?: unknown }).storedFence;
    report(outcomeOf(error), typeof stored === 'number' ? stored : null, `${codeOf(error)}: ${(error as Error).message}`);
    return false;
  }
}

/** Runs one ordered operation; resolves to how it ended (never rejects). */
export async function runOperation(context: OperationContext, order: OperateOrder): Promise<{ outcome: OperationOutcome; detail: string | null }> {
  const { nodeId, operation } = order;
  let task: NodeTask;
  context.reserving.set(nodeId, Date.now());
  try {
    task = await context.conductor.reserve(nodeId, { purpose: operation.name });
  } catch (error) {
    if (error instanceof NodeLockedError) return { outcome: 'locked', detail: `held by ${error.holder?.owner ?? 'someone'}` };
    if (error instanceof ConductorStoppedError) return { outcome: 'stopped', detail: null };
    return { outcome: 'failed', detail: `${codeOf(error)}: ${(error as Error).message}` };
  } finally {
    context.reserving.delete(nodeId);
  }
  try {
    if (task.node.provisionState !== operation.from) return { outcome: 'moved', detail: `the node is ${task.node.provisionState}` };
    for (const [i, to] of operation.path.entries()) {
      const last = i === operation.path.length - 1;
      const fields: TaskTransitionOptions = last ? { targetState: null, lastError: null } : { targetState: operation.target };
      if (!(await write(context, task, to, fields))) {
        return task.lease.state === 'lost' || !task.signal.aborted ? { outcome: 'lost', detail: null } : { outcome: 'stopped', detail: null };
      }
      // The work in this state (waiting for a BMC, a ramdisk's call-back, a disk wipe): not interruptible, like a
      // blocking call; the next write is where a lost lease shows.
      if (!last) await sleep(operation.stepsMs[i]!);
    }
    return { outcome: 'done', detail: null };
  } catch (error) {
    return { outcome: 'failed', detail: `${codeOf(error)}: ${(error as Error).message}` };
  } finally {
    await task.release().catch(() => undefined);
  }
}
