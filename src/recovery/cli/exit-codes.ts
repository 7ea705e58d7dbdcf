/**
 * The exit codes of the `leasehold` CLI, and the one place errors are mapped to them.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, LeaseholdError } from '../../lock/errors.js';
import { NodeNotFoundError } from '../../nodes/errors.js';
import { LiveLeaseError, NotOrphanedError } from '../errors.js';

/** What each exit code of the `leasehold` CLI means. For several nodes, `recover` exits with the highest. */
export const EXIT = Object.freeze({
  /** Everything asked was done. */
  ok: 0,
  /** An unexpected error (a bug, a store that failed, a recovery attempt that failed). */
  unexpected: 1,
  /** Bad usage: unknown command or option, a bad value, `--force` without `--reason`, `pg` not installed. */
  usage: 2,
  /** Redis (or PostgreSQL with `--store postgres`) is unreachable or refused the credentials. */
  unreachable: 3,
  /** No node has that id. */
  unknownNode: 4,
  /** The node is not orphaned: nobody holds it and its last lease was released. Nothing to recover. */
  notOrphaned: 5,
  /** The node has a live lease and `--force` was not given: refused. */
  liveLease: 6,
} as const);

/** One of the {@link EXIT} codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The command line was wrong: an unknown command or option, a missing or bad value. */
export class UsageError extends LeaseholdError {
  readonly code = 'USAGE' as const;
}

/** A server the CLI needs could not be reached (or refused the credentials). The message names its redacted URL. */
export class UnreachableError extends LeaseholdError {
  readonly code = 'UNREACHABLE' as const;
}

/** Socket-level error codes that mean "the server cannot be reached". */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);

/** Whether `error` (or one of its causes) says the server connection failed, rather than a command. */
export function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    if (e.name === 'MaxRetriesPerRequestError' || /^Connection is closed\.?$/.test(e.message)) return true;
  }
  return false;
}

/** Whether `error` is one of node:util `parseArgs`'s usage errors (unknown option, missing value, ...). */
function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** The exit code an error stands for. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError || error instanceof InvalidArgumentError || isParseArgsError(error)) return EXIT.usage;
  if (error instanceof UnreachableError || isConnectionError(error)) return EXIT.unreachable;
  if (error instanceof NodeNotFoundError) return EXIT.unknownNode;
  if (error instanceof NotOrphanedError) return EXIT.notOrphaned;
  if (error instanceof LiveLeaseError) return EXIT.liveLease;
  return EXIT.unexpected;
}

/** A stable code for an error, for `--json` output: the leasehold `code`, else the error's name. */
export function errorCodeOf(error: unknown): string {
  if (error instanceof LeaseholdError) return error.code;
  if (isParseArgsError(error)) return 'USAGE';
  if (isConnectionError(error)) return 'UNREACHABLE';
  return error instanceof Error ? error.name : 'Error';
}
