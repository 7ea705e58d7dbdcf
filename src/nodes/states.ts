/**
 * Provision states, with OpenStack Ironic's names and string values, so a conductor service can keep the values it
 * already stores.
 *
 * @packageDocumentation
 */

/**
 * Every provision state leasehold knows, keyed by Ironic's constant names. Frozen.
 *
 * @example
 * ```ts
 * await task.transition(ProvisionState.DEPLOY_WAIT); // "wait call-back"
 * ```
 */
export const ProvisionState = Object.freeze({
  /** Registered; its management credentials are not verified yet. */
  ENROLL: 'enroll',
  /** Checking that the driver can reach its BMC. Transient; the default policy fails it to `enroll`. */
  VERIFYING: 'verifying',
  /** Verified and under operators' control: it can be inspected, cleaned or made available. */
  MANAGEABLE: 'manageable',
  /** Hardware inspection is running. Transient; the default policy fails it to `inspect failed`. */
  INSPECTING: 'inspecting',
  /** Inspection waits for the ramdisk agent or an out-of-band answer. Transient; the default policy fails it to `inspect failed`. */
  INSPECT_WAIT: 'inspect wait',
  /** Inspection failed (or its conductor died); see `lastError`. */
  INSPECT_FAILED: 'inspect failed',
  /** Cleaning steps (disk wipe, firmware, RAID) are running. Transient; the default policy fails it to `clean failed`. */
  CLEANING: 'cleaning',
  /** Cleaning waits for the ramdisk agent. Transient; the default policy fails it to `clean failed`. */
  CLEAN_WAIT: 'clean wait',
  /** Cleaning failed (or its conductor died); see `lastError`. */
  CLEAN_FAILED: 'clean failed',
  /** Clean and ready to be deployed. */
  AVAILABLE: 'available',
  /** The deploy is running. Transient; the default policy fails it to `deploy failed`. */
  DEPLOYING: 'deploying',
  /** The deploy waits for the ramdisk agent's call-back (Ironic's `wait call-back`). Transient; the default policy fails it to `deploy failed`. */
  DEPLOY_WAIT: 'wait call-back',
  /** The deploy failed (or its conductor died); see `lastError`. */
  DEPLOY_FAILED: 'deploy failed',
  /** Deployed and in use. */
  ACTIVE: 'active',
  /** The instance is being torn down (undeploy). Transient; the default policy fails it to `error`. */
  DELETING: 'deleting',
  /** Tearing down failed (or its conductor died); see `lastError`. */
  ERROR: 'error',
  /** Booting the rescue ramdisk. Transient; the default policy fails it to `rescue failed`. */
  RESCUING: 'rescuing',
  /** Rescue waits for the ramdisk agent. Transient; the default policy fails it to `rescue failed`. */
  RESCUE_WAIT: 'rescue wait',
  /** Rescue failed (or its conductor died); see `lastError`. */
  RESCUE_FAILED: 'rescue failed',
  /** Running the rescue ramdisk; operators can log in. */
  RESCUE: 'rescue',
  /** Leaving rescue for the instance. Transient; the default policy fails it to `unrescue failed`. */
  UNRESCUING: 'unrescuing',
  /** Leaving rescue failed (or its conductor died); see `lastError`. */
  UNRESCUE_FAILED: 'unrescue failed',
  /** Taking over a node that is already deployed. Transient; the default policy fails it to `adopt failed`. */
  ADOPTING: 'adopting',
  /** Adoption failed (or its conductor died); see `lastError`. */
  ADOPT_FAILED: 'adopt failed',
  /** Service steps run on a deployed node. Transient; the default policy fails it to `service failed`. */
  SERVICING: 'servicing',
  /** Service steps wait for the ramdisk agent. Transient; the default policy fails it to `service failed`. */
  SERVICE_WAIT: 'service wait',
  /** Service steps failed (or their conductor died); see `lastError`. */
  SERVICE_FAILED: 'service failed',
} as const);

/**
 * A provision state's string value, e.g. `"deploying"` or `"wait call-back"`.
 *
 * @example
 * ```ts
 * const waiting: ProvisionStateValue = ProvisionState.DEPLOY_WAIT; // "wait call-back": Ironic's own value
 * const stale = (await nodes.list({ state: waiting })).filter((n) => Date.now() - n.updatedAt > 30 * 60_000);
 * ```
 */
export type ProvisionStateValue = (typeof ProvisionState)[keyof typeof ProvisionState];

/**
 * All provision state values, in the order of {@link ProvisionState}. Frozen.
 *
 * @example
 * ```ts
 * // How many nodes are in each state, e.g. for a dashboard
 * for (const state of PROVISION_STATES) console.log(state, (await nodes.list({ state })).length);
 * ```
 */
export const PROVISION_STATES: readonly ProvisionStateValue[] = Object.freeze(Object.values(ProvisionState));

const KNOWN = new Set<string>(PROVISION_STATES);

/**
 * Whether `value` is a provision state leasehold knows: a type guard for strings from outside (an API, a column).
 *
 * @example
 * ```ts
 * const state: unknown = JSON.parse('"clean wait"');
 * if (isProvisionState(state)) await nodes.list({ state });
 * ```
 */
export function isProvisionState(value: unknown): value is ProvisionStateValue {
  return typeof value === 'string' && KNOWN.has(value);
}

/**
 * States in which an operation is under way and a conductor holds the node: a node left in one of these with no
 * live holder is stuck and must be recovered (Ironic's `STUCK_STATES_TREATED_AS_FAIL` plus the `*WAIT` states).
 *
 * @example
 * ```ts
 * const busy = await nodes.list({ state: TRANSIENT_STATES }); // every node with an operation under way
 * console.log(`${busy.length} nodes mid-operation`);
 * ```
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

/**
 * Whether `state` is a transient state (an operation in progress): one of {@link TRANSIENT_STATES}.
 *
 * @example
 * ```ts
 * const stuck = (await nodes.list()).filter((n) => isTransientState(n.provisionState));
 * ```
 */
export function isTransientState(state: ProvisionStateValue): boolean {
  return TRANSIENT.has(state);
}

/**
 * The transient states in which a node waits for something outside the conductor (the ramdisk agent's call-back,
 * an out-of-band answer) without a holder: Ironic releases the node's reservation while it waits, and a timeout,
 * not a lock, ends the wait. A subset of {@link TRANSIENT_STATES}.
 *
 * @example
 * ```ts
 * WAIT_STATES.includes('clean wait'); // true
 * ```
 */
export const WAIT_STATES: readonly ProvisionStateValue[] = Object.freeze([
  ProvisionState.DEPLOY_WAIT,
  ProvisionState.CLEAN_WAIT,
  ProvisionState.INSPECT_WAIT,
  ProvisionState.RESCUE_WAIT,
  ProvisionState.SERVICE_WAIT,
]);

/**
 * The transient states a conductor works in while it holds the node, from the first write to the last: every
 * {@link TRANSIENT_STATES} state but the {@link WAIT_STATES}. A node must not be left in one of these when its
 * holder lets go; a `Conductor` whose task ends there fails the node through its policy before releasing it.
 *
 * @example
 * ```ts
 * HELD_STATES.includes('deploying'); // true
 * HELD_STATES.includes('wait call-back'); // false: the node waits for its agent, unheld
 * ```
 */
export const HELD_STATES: readonly ProvisionStateValue[] = Object.freeze(TRANSIENT_STATES.filter((state) => !WAIT_STATES.includes(state)));

const HELD = new Set<string>(HELD_STATES);

/**
 * Whether `state` is one of {@link HELD_STATES}: an operation in progress that needs its holder the whole time.
 *
 * @example
 * ```ts
 * if (isHeldState(task.node.provisionState)) console.warn('releasing mid-operation: the node will be failed');
 * ```
 */
export function isHeldState(state: ProvisionStateValue): boolean {
  return HELD.has(state);
}
