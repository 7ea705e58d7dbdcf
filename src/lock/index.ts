export type {
  AcquireGrant,
  AcquireOutcome,
  AcquireRequest,
  BreakOutcome,
  ExtendItem,
  ExtendPart,
  HandOverOutcome,
  LeaseRecord,
  LockBackend,
  OrphanRecord,
  PingResult,
  ResourceState,
} from './backend.js';
export {
  BackendError,
  EvictionPolicyError,
  InvalidArgumentError,
  InvalidHeartbeatError,
  InvalidNameError,
  InvalidOptionError,
  InvalidTtlError,
  LeaseholdError,
  LeaseLostError,
  LeaseReleasedError,
  LockHeldError,
  ManagerClosedError,
  QuorumError,
  UnknownOptionError,
  type HolderInfo,
  type PreviousHolder,
  type LeaseLostReason,
} from './errors.js';
export { HEALTH_DEFAULTS, type HealthOptions, type LockHealth } from './health.js';
export { Lease, type LeaseEvents, type LeaseState } from './lease.js';
export { redactSecrets, type Logger, type LogLevel } from './logger.js';
export { METRICS, type HistogramSpec, type MetricKey, type Metrics, type MetricSpec } from './metrics.js';
export type { AcquireOutcomeName } from './telemetry.js';
export {
  LockManager,
  type AcquireOptions,
  type HeartbeatReport,
  type LockInfo,
  type LockManagerEvents,
} from './lock-manager.js';
export { LOCK_MANAGER_DEFAULTS, type LockManagerOptions, type ResolvedLockManagerOptions } from './options.js';
export { KeySpace } from './redis/keys.js';
export { QuorumBackend, type QuorumBackendOptions } from './quorum/quorum-backend.js';
export { REDIS_BACKEND_DEFAULTS, RedisBackend, type RedisBackendOptions } from './redis/redis-backend.js';
export { checkEvictionPolicy, checkRecordEvictionPolicy, type EvictionCheck } from './redis/eviction-policy.js';
export type { RedisClient } from './redis/scripts.js';
