import { InvalidNameError, InvalidOptionError } from '../lock/errors.js';
import { checkOptions, isWellFormed, show } from '../lock/validate.js';
import { InvalidFenceError, InvalidStateError, NodeNotFoundError, StaleFenceError, UnknownStateError } from './errors.js';
import type { NewNode, Node, NodeQuery, Transition } from './node.js';
import { PROVISION_STATES, isProvisionState, type ProvisionStateValue } from './states.js';

/**
 * Largest node id, in UTF-8 bytes (fits Ironic's 255-character UUID/name columns).
 *
 * @example
 * ```ts
 * const id = process.argv[2] ?? '';
 * if (Buffer.byteLength(id, 'utf8') > MAX_NODE_ID_BYTES) throw new Error(`a node id is at most ${MAX_NODE_ID_BYTES} UTF-8 bytes`);
 * ```
 */
export const MAX_NODE_ID_BYTES = 255;

/** Largest driver name or last error, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 65_536;

/**
 * Checks a node id: a non-empty, well-formed string of at most 255 UTF-8 bytes. A lone surrogate is refused: every
 * store keeps ids as UTF-8, which has no encoding for it, so two ids would name one node.
 */
export function checkNodeId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidNameError(`A node id must be a non-empty string; got ${show(value)}.`);
  }
  if (!isWellFormed(value)) {
    throw new InvalidNameError(`A node id must be well-formed Unicode: it holds a lone surrogate, which UTF-8 cannot encode; got ${show(value)}.`);
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_NODE_ID_BYTES) {
    throw new InvalidNameError(`A node id must be at most ${MAX_NODE_ID_BYTES} UTF-8 bytes; got ${bytes} bytes (${show(value)}).`);
  }
  return value;
}

/** Checks a provision state value. */
export function checkState(what: string, value: unknown): ProvisionStateValue {
  if (!isProvisionState(value)) {
    throw new UnknownStateError(
      `${what} must be a provision state (e.g. "deploying", "wait call-back", "clean failed"); got ${show(value)}. ` +
        `Known states: ${PROVISION_STATES.join(', ')}.`,
    );
  }
  return value;
}

/** Checks a lease fence: a positive safe integer. */
export function checkFence(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidFenceError(`fence must be a positive safe integer (a lease's fence); got ${show(value)}.`);
  }
  return value;
}

/**
 * Checks a driver name or last error. Free text is made well-formed rather than refused (a last error is often cut
 * from another message): each lone surrogate becomes U+FFFD, as UTF-8 storage would make it anyway, so every store
 * returns the text it stored.
 */
function checkText(what: string, value: unknown, nullable: boolean): string | null {
  if (value === null && nullable) return null;
  if (typeof value !== 'string') {
    throw new InvalidOptionError(`${what} must be a string${nullable ? ' or null' : ''}; got ${show(value)}.`);
  }
  if (Buffer.byteLength(value, 'utf8') > MAX_TEXT_BYTES) {
    throw new InvalidOptionError(`${what} must be at most ${MAX_TEXT_BYTES} UTF-8 bytes.`);
  }
  return isWellFormed(value) ? value : value.replace(/\p{Cs}/gu, '\uFFFD');
}

function checkBoolean(what: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${what} must be true or false; got ${show(value)}.`);
  return value;
}

const NEW_NODE_KEYS = ['id', 'provisionState', 'targetState', 'maintenance', 'driver', 'lastError'] as const;

/** Checks create()'s argument and fills in defaults. */
export function checkNewNode(value: unknown): Required<NewNode> {
  if (value === undefined) throw new InvalidOptionError('create() needs a node: { id, provisionState?, ... }.');
  const node = checkOptions<NewNode>('The new node', value, NEW_NODE_KEYS);
  return {
    id: checkNodeId(node.id),
    provisionState: node.provisionState === undefined ? 'enroll' : checkState('provisionState', node.provisionState),
    targetState: node.targetState === undefined || node.targetState === null ? null : checkState('targetState', node.targetState),
    maintenance: node.maintenance === undefined ? false : checkBoolean('maintenance', node.maintenance),
    driver: node.driver === undefined ? '' : (checkText('driver', node.driver, false) ?? ''),
    lastError: node.lastError === undefined ? null : checkText('lastError', node.lastError, true),
  };
}

const TRANSITION_KEYS = ['from', 'to', 'fence', 'targetState', 'lastError', 'maintenance'] as const;

/** Checks transition()'s arguments. */
export function checkTransition(id: unknown, value: unknown): Transition {
  checkNodeId(id);
  if (value === undefined) throw new InvalidOptionError('transition() needs { from, to, fence }.');
  const t = checkOptions<Transition>('The transition', value, TRANSITION_KEYS);
  if (!Array.isArray(t.from) || t.from.length === 0) {
    throw new InvalidOptionError(`transition's from must be a non-empty array of provision states; got ${show(t.from)}.`);
  }
  // Array.from, not map: a sparse array's holes are read as undefined (and refused), never skipped.
  const from = Array.from(t.from as readonly unknown[], (s) => checkState('Each state in from', s));
  const checked: { -readonly [K in keyof Transition]: Transition[K] } = {
    from: [...new Set(from)],
    to: checkState('transition\'s to', t.to),
    fence: checkFence(t.fence),
  };
  if (t.targetState !== undefined) checked.targetState = t.targetState === null ? null : checkState('targetState', t.targetState);
  if (t.lastError !== undefined) checked.lastError = checkText('lastError', t.lastError, true);
  if (t.maintenance !== undefined) checked.maintenance = checkBoolean('maintenance', t.maintenance);
  return checked;
}

/** Checks list()'s query and returns the states it filters on (null: any). */
export function checkQuery(value: unknown): { states: readonly ProvisionStateValue[] | null; maintenance: boolean | undefined } {
  const q = checkOptions<NodeQuery>('The query', value, ['state', 'maintenance']);
  let states: readonly ProvisionStateValue[] | null = null;
  if (q.state !== undefined) {
    const raw: readonly unknown[] = Array.isArray(q.state) ? (q.state as readonly unknown[]) : [q.state];
    states = [...new Set(Array.from(raw, (s) => checkState('The query\'s state', s)))];
  }
  return { states, maintenance: q.maintenance === undefined ? undefined : checkBoolean('The query\'s maintenance', q.maintenance) };
}

/**
 * The error a transition that did not apply deserves, given the node as it is now (`null`: missing). Stale fences
 * are reported before state mismatches: a writer with a stale fence must stop whatever state it expected.
 */
export function transitionError(id: string, current: Pick<Node, 'provisionState' | 'fence'> | null, t: Transition): Error {
  if (current === null) return new NodeNotFoundError(id);
  if (current.fence > t.fence) return new StaleFenceError(id, t.fence, current.fence);
  return new InvalidStateError(id, current.provisionState, t.from, t.to);
}

/** Whether a transition applies to a node in this state. */
export function transitionApplies(current: Pick<Node, 'provisionState' | 'fence'>, t: Transition): boolean {
  return current.fence <= t.fence && t.from.includes(current.provisionState);
}
