/**
 * Errors of node stores. Each has a stable `code`; none of them means something was written.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, LeaseholdError } from '../lock/errors.js';

/**
 * A state name was not one of the provision states leasehold knows (see `PROVISION_STATES`), in a transition, a
 * new node, a query or a failure policy; the message lists the known states.
 *
 * @example
 * ```ts
 * await nodes.list({ state: 'deployed' as ProvisionStateValue }); // rejects with UnknownStateError: it is "active"
 * ```
 */
export class UnknownStateError extends InvalidArgumentError {
  /** Always `"UNKNOWN_STATE"`. */
  readonly code = 'UNKNOWN_STATE' as const;
}

/**
 * A fence given to `transition()` was not a positive safe integer (a lease's `fence` always is).
 *
 * @example
 * ```ts
 * await nodes.transition('node-1', { from: ['available'], to: 'deploying', fence: 0 }); // rejects with InvalidFenceError
 * ```
 */
export class InvalidFenceError extends InvalidArgumentError {
  /** Always `"INVALID_FENCE"`. */
  readonly code = 'INVALID_FENCE' as const;
}

/**
 * No node has this id: from a store's `get()` and `transition()`, `conductor.reserve()` / `withNode()` (before any
 * lock is taken) and `recovery.recoverNode()`.
 *
 * @example
 * ```ts
 * const node = await nodes.get('node-1').catch((e: unknown) => (e instanceof NodeNotFoundError ? null : Promise.reject(e)));
 * ```
 */
export class NodeNotFoundError extends LeaseholdError {
  /** Always `"NODE_NOT_FOUND"`. */
  readonly code = 'NODE_NOT_FOUND' as const;

  /** Made by node stores. */
  constructor(
    /** The id that matched no node. */
    readonly nodeId: string,
  ) {
    super(`Node "${nodeId}" does not exist; create() it first or check the id.`);
  }
}

/**
 * `create()` was given the id of a node that already exists. Nothing was written.
 *
 * @example
 * ```ts
 * await nodes.create({ id: 'node-1', provisionState: 'available' }).catch((e: unknown) => {
 *   if (!(e instanceof NodeExistsError)) throw e; // already enrolled: fine
 * });
 * ```
 */
export class NodeExistsError extends LeaseholdError {
  /** Always `"NODE_EXISTS"`. */
  readonly code = 'NODE_EXISTS' as const;

  /** Made by node stores. */
  constructor(
    /** The id that is taken. */
    readonly nodeId: string,
  ) {
    super(`Node "${nodeId}" already exists; pick another id or transition the existing node.`);
  }
}

/**
 * A fenced write carried a fence lower than one the store has already seen for this node: a newer lease holder
 * wrote it since. The writer's lease is gone; it must stop. Nothing was written. Checked before the state, so a
 * stale writer gets this whatever state it expected.
 *
 * @example
 * ```ts
 * try {
 *   await task.transition('active');
 * } catch (error) {
 *   if (error instanceof StaleFenceError) console.warn(`node-1 was taken over (fence ${error.storedFence}): stopping`);
 *   throw error;
 * }
 * ```
 */
export class StaleFenceError extends LeaseholdError {
  /** Always `"STALE_FENCE"`. */
  readonly code = 'STALE_FENCE' as const;

  /** Made by node stores. */
  constructor(
    /** The node the write was for. */
    readonly nodeId: string,
    /** The fence the rejected write carried. */
    readonly fence: number,
    /** The fence the store holds, written by a newer holder. */
    readonly storedFence: number,
  ) {
    super(
      `Write to node "${nodeId}" with fence ${fence} rejected: the node was written with fence ${storedFence} by a newer ` +
        'lease holder. This writer lost its lease; stop work on the node (nothing was written).',
    );
  }
}

/**
 * A transition expected the node in one of some states, and it is in another (the state moved on). Nothing was
 * written: read the node again and decide from its current state.
 *
 * @example
 * ```ts
 * await nodes.transition('node-1', { from: ['available'], to: 'deploying', fence: lease.fence }).catch((e: unknown) => {
 *   if (!(e instanceof InvalidStateError)) throw e;
 *   console.log(`node-1 is ${e.actual} now`);
 * });
 * ```
 */
export class InvalidStateError extends LeaseholdError {
  /** Always `"INVALID_STATE"`. */
  readonly code = 'INVALID_STATE' as const;

  /** Made by node stores. */
  constructor(
    /** The node the write was for. */
    readonly nodeId: string,
    /** The state the node is in. */
    readonly actual: string,
    /** The states the write expected. */
    readonly expected: readonly string[],
    /** The state the write wanted to move to. */
    readonly to: string,
  ) {
    super(
      `Node "${nodeId}" is in state "${actual}", not ${expected.map((s) => `"${s}"`).join(' or ')}; ` +
        `it cannot move to "${to}" from there. Read the node again and decide from its current state (nothing was written).`,
    );
  }
}
