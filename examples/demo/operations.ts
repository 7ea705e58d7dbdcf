// The provisioning operations the demo's conductors run, after Ironic's state machine: each passes through
// transient states (deploying, wait call-back, cleaning, inspecting, deleting, ...) that take a while each.
import { isTransientState, type ProvisionStateValue } from 'leasehold';
import type { Random } from './random.js';

/** An operation's name, as a conductor service would name it. */
export type OperationName = 'manage' | 'inspect' | 'provide' | 'deploy' | 'undeploy';

/** One operation ordered on one node: the states it writes, in order, and how long it stays in each. */
export interface Operation {
  readonly name: OperationName;
  /** The state the node must be in for the operation to start. */
  readonly from: ProvisionStateValue;
  /** The states written in order; the last is where the operation ends (stable). */
  readonly path: readonly ProvisionStateValue[];
  /** How long the node stays in each state of `path` but the last, ms. */
  readonly stepsMs: readonly number[];
  /** The operation's goal, written as the node's target state while it runs. */
  readonly target: ProvisionStateValue;
}

const PATHS: Readonly<Record<OperationName, readonly ProvisionStateValue[]>> = {
  manage: ['verifying', 'manageable'],
  inspect: ['inspecting', 'inspect wait', 'manageable'],
  provide: ['cleaning', 'clean wait', 'cleaning', 'available'],
  deploy: ['deploying', 'wait call-back', 'deploying', 'active'],
  undeploy: ['deleting', 'cleaning', 'available'],
};

/** What can be done next from a stable state (failed states included: the way back after a recovery). */
const NEXT: Partial<Record<ProvisionStateValue, readonly OperationName[]>> = {
  enroll: ['manage'],
  manageable: ['inspect', 'provide', 'provide'],
  available: ['deploy'],
  active: ['undeploy'],
  'deploy failed': ['undeploy'],
  error: ['undeploy'],
  'clean failed': ['manage'],
  'inspect failed': ['manage'],
};

/** Node-state failed states the demo can meet, for colouring and counting. */
export const FAILED_STATES: readonly ProvisionStateValue[] = ['deploy failed', 'clean failed', 'inspect failed', 'error'];

/**
 * The next operation for a node in `state`, with seeded step durations of 20–55 % of the TTL each (a few seconds
 * at the default TTL), or `null` when the node is in a transient state (someone works on it, or it awaits recovery).
 */
export function nextOperation(state: ProvisionStateValue, ttlMs: number, random: Random): Operation | null {
  if (isTransientState(state)) return null;
  const choices = NEXT[state];
  if (!choices) return null;
  const name = random.pick(choices);
  // Ironic's `manage` verifies a newly enrolled node; from a failed state it goes straight back to manageable.
  const path = name === 'manage' && state !== 'enroll' ? (['manageable'] as const) : PATHS[name];
  const stepsMs = path.slice(0, -1).map(() => Math.round(random.between(0.2, 0.55) * ttlMs));
  return { name, from: state, path, stepsMs, target: path.at(-1)! };
}
