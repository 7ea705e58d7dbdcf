export { LiveLeaseError, NotOrphanedError, ReasonRequiredError } from './errors.js';
export { RedisEventLog, type LogEntry, type RedisEventLogOptions } from './event-log.js';
export type {
  FailedEvent,
  OrphanedEvent,
  ReconciledEvent,
  RecoveredEvent,
  RecoveryCounters,
  RecoveryEvents,
  RecoveryTrigger,
  SkippedEvent,
  SkipReason,
} from './events.js';
export type { RecoveryHealth } from './observability.js';
export { RECOVERY_DEFAULTS, type RecoveryManagerOptions, type ResolvedRecoveryOptions } from './options.js';
export { RecoveryManager, type RecoverNodeOptions, type RecoverNodeResult, type RecoveryOutcome } from './recovery-manager.js';
