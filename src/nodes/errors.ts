/**
 * Errors of node stores. Each has a stable `code`; none of them means something was written.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, LeaseholdError } from '../lock/errors.js';

/** A state name was not one of the provision states leasehold knows (see `PROVISION_STATES`). */
export class UnknownStateError extends InvalidArgumentError {
  readonly code = 'UNKNOWN_STATE' as const;
}

/** A fence was not a positive safe integer. */
export class InvalidFenceError extends InvalidArgumentError {
  readonly code = 'INVALID_FENCE' as const;
}

/** No node has this id. */
export class NodeNotFoundError extends LeaseholdError {
  readonly code = 'NODE_NOT_FOUND' as const;

  constructor(readonly nodeId: string) {
    super(`Node "${nodeId}" does not exist; create() it first or check the id.`);
  }
}

/** create() was given the id of a node that already exists. Nothing was written. */
export class NodeExistsError extends LeaseholdError {
  readonly code = 'NODE_EXISTS' as const;

  constructor(readonly nodeId: string) {
    super(`Node "${nodeId}" already exists; pick another id or transition the existing node.`);
  }
}

/**
 * A fenced write carried a fence lower than one the store has already seen for this node: a newer lease holder
 * wrote it since. The writer's lease is gone; it must stop. Nothing was written.
 */
export class StaleFenceError extends LeaseholdError {
  readonly code = 'STALE_FENCE' as const;

  constructor(
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

/** A transition expected the node in one of some states, and it is in another (the state moved on). Nothing was written. */
export class InvalidStateError extends LeaseholdError {
  readonly code = 'INVALID_STATE' as const;

  constructor(
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
