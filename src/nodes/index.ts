export {
  InvalidFenceError,
  InvalidStateError,
  NodeExistsError,
  NodeNotFoundError,
  StaleFenceError,
  UnknownStateError,
} from './errors.js';
export { MemoryNodeStore } from './memory-store.js';
export type { NewNode, Node, NodeQuery, Transition } from './node.js';
export { DEFAULT_FAILURE_POLICY, resolveFailurePolicy, type FailurePolicy, type ResolvedFailurePolicy } from './policy.js';
export {
  HELD_STATES,
  PROVISION_STATES,
  ProvisionState,
  TRANSIENT_STATES,
  WAIT_STATES,
  isHeldState,
  isProvisionState,
  isTransientState,
  type ProvisionStateValue,
} from './states.js';
export { REDIS_NODE_STORE_DEFAULTS, RedisNodeStore, type RedisNodeStoreOptions } from './redis-store.js';
export type { NodeStore } from './store.js';
export { MAX_NODE_ID_BYTES } from './validate.js';
export { failStuckNode, type DeadHolder, type StuckNode, type StuckNodeOutcome } from './fail-stuck-node.js';
export { NODE_RESOURCE_PREFIX, nodeIdOf, nodeResource } from './resources.js';
