export { Conductor, type ConductorEvents, type ConductorState, type NodeFailedEvent, type NodeRecoveredEvent, type ReserveOptions } from './conductor.js';
export { ConductorIdInUseError, ConductorStoppedError, NodeLockedError, TaskReleasedError } from './errors.js';
export { conductorResource, listConductors, type ConductorInfo } from './list-conductors.js';
export type { ConductorHealth } from './observability.js';
export { CONDUCTOR_DEFAULTS, type ConductorOptions, type ResolvedConductorOptions } from './options.js';
export { RedisConductorRegistry, type RedisConductorRegistryOptions } from './redis-registry.js';
export type { ConductorRecord, ConductorRegistry } from './registry.js';
export { NodeTask, type TaskTransitionOptions } from './task.js';
