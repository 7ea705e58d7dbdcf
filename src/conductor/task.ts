import type { Lease } from '../lock/lease.js';
import type { Node } from '../nodes/node.js';
import type { ProvisionStateValue } from '../nodes/states.js';
import type { NodeStore } from '../nodes/store.js';
import { checkState } from '../nodes/validate.js';
import { TaskReleasedError } from './errors.js';
import { InFlight } from '../lock/in-flight.js';
import { checkOptions } from '../lock/validate.js';

/**
 * Options of {@link NodeTask.transition}.
 *
 * @example
 * ```ts
 * // The agent's call-back never came: fail the clean, from whichever cleaning state the node is in
 * const options: TaskTransitionOptions = { from: ['cleaning', 'clean wait'], targetState: null, lastError: 'no call-back within 30 min' };
 * await task.transition('clean failed', options);
 * ```
 */
export interface TaskTransitionOptions {
  /** The new last error; unchanged when omitted, cleared with `null`. */
  readonly lastError?: string | null;
  /** The new target state; unchanged when omitted, cleared with `null`. */
  readonly targetState?: ProvisionStateValue | null;
  /** The new maintenance flag; unchanged when omitted. */
  readonly maintenance?: boolean;
  /**
   * The states the node may be in for the write to apply.
   * @defaultValue the state this task last saw (`task.node.provisionState`)
   */
  readonly from?: readonly ProvisionStateValue[];
}

/** What a task needs from its conductor. */
export interface TaskHost {
  readonly nodes: NodeStore;
  /** Releases the task's lease and forgets the task. */
  finish(task: NodeTask): Promise<void>;
}

/**
 * Exclusive work on one node: the node's lease (heartbeated while the task lives), the node as last seen, fenced
 * transitions, and a signal that aborts when the lease is lost or the conductor stops. Get one from
 * `conductor.withNode()` (released for you) or `conductor.reserve()` (call {@link NodeTask.release}, or use
 * `await using`).
 *
 * @example
 * ```ts
 * await using task = await conductor.reserve('node-1', { purpose: 'clean' });
 * await task.transition('cleaning', { targetState: 'available' });
 * await wipeDisks(task.node, { signal: task.signal }); // your work: stop when the signal aborts
 * await task.transition('available', { targetState: null });
 * ```
 */
export class NodeTask implements AsyncDisposable {
  /** The node's id. */
  readonly nodeId: string;
  /** The node's lease. Its fence goes with every write this task makes. */
  readonly lease: Lease;
  /** Aborted when the lease is lost (reason: `LeaseLostError`) or the conductor stops (reason: `ConductorStoppedError`). */
  readonly signal: AbortSignal;
  #node: Node;
  readonly #host: TaskHost;
  #released: Promise<void> | null = null;
  /** Writes sent and not answered yet. */
  readonly #writes = new InFlight();

  /** @internal Tasks are made by a Conductor. */
  constructor(host: TaskHost, lease: Lease, node: Node, signal: AbortSignal) {
    this.#host = host;
    this.nodeId = node.id;
    this.lease = lease;
    this.#node = node;
    this.signal = signal;
  }

  /** The node as this task last read or wrote it. */
  get node(): Node {
    return this.#node;
  }

  /** The lease's fence. */
  get fence(): number {
    return this.lease.fence;
  }

  /**
   * Moves the node to `to`, fenced with this task's lease: applies only if the node is still in the state this
   * task last saw (or one of `options.from`) and no newer holder wrote it. Resolves to the node as written.
   * Rejects with `signal.reason` when the lease is lost or the conductor stopped, `StaleFenceError` when a newer
   * holder wrote the node, `InvalidStateError` when its state moved on, {@link TaskReleasedError} after `release()`;
   * nothing is written then.
   */
  async transition(to: ProvisionStateValue, options?: TaskTransitionOptions): Promise<Node> {
    checkState('transition target', to);
    const given = checkOptions<TaskTransitionOptions>('transition options', options, ['lastError', 'targetState', 'maintenance', 'from']);
    // Reading the lease's state reports it lost at once when its local deadline passed (e.g. after a pause), even
    // before the deadline timer fires: no write is sent on a lease this process can no longer believe in. Nor on one
    // released behind the task's back (its lock manager closed): the next holder's fence may not have reached the
    // store yet to refuse it.
    const state = this.lease.state;
    if (this.#released || state === 'released') throw new TaskReleasedError(this.nodeId, this.fence);
    if (state !== 'held') this.lease.signal.throwIfAborted();
    this.signal.throwIfAborted();
    const { from, ...rest } = given;
    const written = await this.#writes.track(
      this.#host.nodes.transition(this.nodeId, { from: from ?? [this.#node.provisionState], to, fence: this.lease.fence, ...rest }),
    );
    this.#node = written;
    return written;
  }

  /**
   * @internal Resolves once no write of this task is on its way (never rejects): the conductor reads
   * {@link node} only after, to decide whether the node may be left without a holder.
   */
  settled(): Promise<void> {
    return this.#writes.drained();
  }

  /** Reads the node again from the store (e.g. after a long wait) and returns it. */
  async refresh(): Promise<Node> {
    this.#node = await this.#host.nodes.get(this.nodeId);
    return this.#node;
  }

  /**
   * Releases the node's lease; the task writes nothing after. A node left in one of the `HELD_STATES` is first
   * moved to its failed state (the conductor's `nodeFailed` event), so it is never stuck with no holder.
   * Idempotent. Never rejects: a release Redis did not confirm goes to the conductor's `error` event and the lease
   * expires by its TTL.
   */
  release(): Promise<void> {
    this.#released ??= this.#host.finish(this);
    return this.#released;
  }

  /** Releases the lease at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
