/**
 * Provision states, with OpenStack Ironic's names and string values, so a conductor service can keep the values it
 * already stores.
 *
 * @packageDocumentation
 */

/** Every provision state leasehold knows, keyed by Ironic's constant names. */
export const ProvisionState = Object.freeze({
  ENROLL: 'enroll',
  VERIFYING: 'verifying',
  MANAGEABLE: 'manageable',
  INSPECTING: 'inspecting',
  INSPECT_WAIT: 'inspect wait',
  INSPECT_FAILED: 'inspect failed',
  CLEANING: 'cleaning',
  CLEAN_WAIT: 'clean wait',
  CLEAN_FAILED: 'clean failed',
  AVAILABLE: 'available',
  DEPLOYING: 'deploying',
  DEPLOY_WAIT: 'wait call-back',
  DEPLOY_FAILED: 'deploy failed',
  ACTIVE: 'active',
  DELETING: 'deleting',
  ERROR: 'error',
  RESCUING: 'rescuing',
  RESCUE_WAIT: 'rescue wait',
  RESCUE_FAILED: 'rescue failed',
  RESCUE: 'rescue',
  UNRESCUING: 'unrescuing',
  UNRESCUE_FAILED: 'unrescue failed',
  ADOPTING: 'adopting',
  ADOPT_FAILED: 'adopt failed',
  SERVICING: 'servicing',
  SERVICE_WAIT: 'service wait',
  SERVICE_FAILED: 'service failed',
} as const);

/** A provision state's string value, e.g. `"deploying"` or `"wait call-back"`. */
export type ProvisionStateValue = (typeof ProvisionState)[keyof typeof ProvisionState];

/** All provision state values, in the order above. */
export const PROVISION_STATES: readonly ProvisionStateValue[] = Object.freeze(Object.values(ProvisionState));

const KNOWN = new Set<string>(PROVISION_STATES);

/** Whether `value` is a provision state leasehold knows. */
export function isProvisionState(value: unknown): value is ProvisionStateValue {
  return typeof value === 'string' && KNOWN.has(value);
}

/**
 * States in which an operation is under way and a conductor holds the node: a node left in one of these with no
 * live holder is stuck and must be recovered (Ironic's `STUCK_STATES_TREATED_AS_FAIL` plus the `*WAIT` states).
 */
export const TRANSIENT_STATES: readonly ProvisionStateValue[] = Object.freeze([
  ProvisionState.DEPLOYING,
  ProvisionState.DEPLOY_WAIT,
  ProvisionState.CLEANING,
  ProvisionState.CLEAN_WAIT,
  ProvisionState.INSPECTING,
  ProvisionState.INSPECT_WAIT,
  ProvisionState.RESCUING,
  ProvisionState.RESCUE_WAIT,
  ProvisionState.UNRESCUING,
  ProvisionState.DELETING,
  ProvisionState.ADOPTING,
  ProvisionState.VERIFYING,
  ProvisionState.SERVICING,
  ProvisionState.SERVICE_WAIT,
]);

const TRANSIENT = new Set<string>(TRANSIENT_STATES);

/** Whether `state` is a transient state (an operation in progress). */
export function isTransientState(state: ProvisionStateValue): boolean {
  return TRANSIENT.has(state);
}
