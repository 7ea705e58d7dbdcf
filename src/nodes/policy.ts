import { InvalidOptionError } from '../lock/errors.js';
import { show } from '../lock/validate.js';
import { UnknownStateError } from './errors.js';
import { ProvisionState as S, isProvisionState, type ProvisionStateValue } from './states.js';

/**
 * Where a node goes when the operation it was in died with its holder: Ironic's mapping for
 * `STUCK_STATES_TREATED_AS_FAIL` and the `*WAIT` states. States it does not name (stable ones such as `active`)
 * are left alone. Frozen.
 *
 * @example
 * ```ts
 * DEFAULT_FAILURE_POLICY['wait call-back']; // "deploy failed"
 * ```
 */
export const DEFAULT_FAILURE_POLICY: Readonly<Partial<Record<ProvisionStateValue, ProvisionStateValue>>> = Object.freeze({
  [S.DEPLOYING]: S.DEPLOY_FAILED,
  [S.DEPLOY_WAIT]: S.DEPLOY_FAILED,
  [S.CLEANING]: S.CLEAN_FAILED,
  [S.CLEAN_WAIT]: S.CLEAN_FAILED,
  [S.INSPECTING]: S.INSPECT_FAILED,
  [S.INSPECT_WAIT]: S.INSPECT_FAILED,
  [S.RESCUING]: S.RESCUE_FAILED,
  [S.RESCUE_WAIT]: S.RESCUE_FAILED,
  [S.UNRESCUING]: S.UNRESCUE_FAILED,
  [S.DELETING]: S.ERROR,
  [S.ADOPTING]: S.ADOPT_FAILED,
  [S.VERIFYING]: S.ENROLL,
  [S.SERVICING]: S.SERVICE_FAILED,
  [S.SERVICE_WAIT]: S.SERVICE_FAILED,
});

/**
 * A failure policy: a table of overrides merged over {@link DEFAULT_FAILURE_POLICY} (map a state to `null` to leave
 * nodes in it alone), or a function that names the failed state for a node's state (`null`: leave it). Unknown
 * states reject with `UnknownStateError`. The `policy` option of `Conductor` and `RecoveryManager`.
 *
 * @example
 * ```ts
 * const policy: FailurePolicy = { cleaning: 'manageable', 'clean wait': 'manageable' }; // retry cleaning by hand
 * const recovery = new RecoveryManager({ locks, nodes, policy });
 * ```
 */
export type FailurePolicy =
  | Readonly<Partial<Record<ProvisionStateValue, ProvisionStateValue | null>>>
  | ((state: ProvisionStateValue) => ProvisionStateValue | null);

/**
 * A resolved policy: the failed state for a node's state, or `null` when a node in it needs no recovery.
 *
 * @example
 * ```ts
 * const failedStateOf: ResolvedFailurePolicy = conductor.options.policy;
 * const node = await nodes.get('node-1');
 * console.log(`if its holder died now, node-1 would go to ${failedStateOf(node.provisionState) ?? 'nowhere: it is stable'}`);
 * ```
 */
export type ResolvedFailurePolicy = (state: ProvisionStateValue) => ProvisionStateValue | null;

/**
 * Resolves a policy (default: {@link DEFAULT_FAILURE_POLICY}) into a function. Table entries are validated at once
 * (`UnknownStateError`, or `InvalidOptionError` for something that is neither a table nor a function); a
 * function's answers are validated each time it is called.
 *
 * @example
 * ```ts
 * const failedStateOf = resolveFailurePolicy({ cleaning: 'manageable' });
 * failedStateOf('cleaning'); // "manageable"
 * failedStateOf('deploying'); // "deploy failed"
 * failedStateOf('active'); // null: stable, left alone
 * ```
 */
export function resolveFailurePolicy(policy?: FailurePolicy): ResolvedFailurePolicy {
  if (policy === undefined) return (state) => DEFAULT_FAILURE_POLICY[state] ?? null;
  if (typeof policy === 'function') {
    return (state) => {
      const to = policy(state);
      if (to !== null && !isProvisionState(to)) {
        throw new UnknownStateError(`The failure policy function answered ${show(to)} for "${state}"; it must return a provision state or null.`);
      }
      return to;
    };
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw new InvalidOptionError(`policy must be a table of state -> failed state or a function; got ${show(policy)}.`);
  }
  const table = new Map<ProvisionStateValue, ProvisionStateValue | null>(
    Object.entries(DEFAULT_FAILURE_POLICY) as [ProvisionStateValue, ProvisionStateValue][],
  );
  for (const [from, to] of Object.entries(policy) as [string, unknown][]) {
    if (!isProvisionState(from)) throw new UnknownStateError(`The failure policy names an unknown state ${show(from)}.`);
    if (to !== null && !isProvisionState(to)) {
      throw new UnknownStateError(`The failure policy maps "${from}" to ${show(to)}; use a provision state or null.`);
    }
    table.set(from, to);
  }
  return (state) => table.get(state) ?? null;
}
