/**
 * Structured logging through a logger the user hands in: leasehold has no logging dependency of its own. Every
 * line is one object of fields (resource, owner, fence, conductorId, nodeId where they apply) and a message; URL
 * credentials are redacted from every string that is logged.
 *
 * @packageDocumentation
 */
import { InvalidOptionError } from './errors.js';
import { show } from './validate.js';

/**
 * The logger leasehold writes to: four levels, each taking the line's fields and its message. A `pino` logger
 * (or a child of one) and `console` both satisfy it.
 *
 * @example
 * ```ts
 * import { pino } from 'pino';
 * const locks = new LockManager({ backend, ttlMs: 10_000, logger: pino({ level: 'info' }) });
 * const quiet = new LockManager({ backend, ttlMs: 10_000, logger: console }); // console fits too
 * ```
 */
export interface Logger {
  /** Routine detail: every heartbeat, acquisition and release. */
  debug(fields: object, message: string): void;
  /** Things an operator wants to read: a node recovered, a conductor started or stopped. */
  info(fields: object, message: string): void;
  /** Something went wrong and was handled: a lease lost, a lease broken on purpose, recovery degraded. */
  warn(fields: object, message: string): void;
  /** A background failure: a heartbeat or sweep that failed, a listener that threw. */
  error(fields: object, message: string): void;
}

/**
 * A log level: the methods of {@link Logger}.
 *
 * @example
 * ```ts
 * // console, keeping warn and error lines only
 * const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
 * const write = (level: LogLevel) => (fields: object, message: string): void => {
 *   if (rank[level] >= rank.warn) console[level](message, fields);
 * };
 * const logger: Logger = { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
 * const locks = new LockManager({ backend, ttlMs: 10_000, logger });
 * ```
 */
export type LogLevel = keyof Logger;

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Checks the optional `logger` option of `owner`: an object with the four {@link Logger} methods, or undefined. */
export function checkLogger(owner: string, logger: unknown): Logger | null {
  if (logger === undefined) return null;
  const methods = logger as Record<string, unknown> | null;
  if (typeof methods !== 'object' || methods === null || !LEVELS.every((level) => typeof methods[level] === 'function')) {
    throw new InvalidOptionError(`${owner} option logger must have methods ${LEVELS.join(', ')} taking (fields, message), e.g. a pino logger or console; got ${show(logger)}.`);
  }
  return logger as Logger;
}

/** `scheme://user:password@` in free text: the password is group 3. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/?#@]*):([^\s/?#@]*)@/gi;

/**
 * `text` with the password of every URL in it replaced by `***` (`redis://user:secret@host` becomes
 * `redis://user:***@host`, `redis://:secret@host` becomes `redis://:***@host`). Usernames are kept.
 *
 * @example
 * ```ts
 * redactSecrets('connect to redis://:hunter2@10.0.0.5:6379 failed'); // 'connect to redis://:***@10.0.0.5:6379 failed'
 * ```
 */
export function redactSecrets(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_CREDENTIALS, (_all, scheme: string, user: string) => `${scheme}${user}:***@`);
}

/** An error as a log field: its name, code and message (redacted), never its stack or raw object. */
export function errorFields(error: unknown): { readonly name: string; readonly code?: string; readonly message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? { name: error.name, code, message: redactSecrets(error.message) } : { name: error.name, message: redactSecrets(error.message) };
  }
  return { name: 'non-error', message: redactSecrets(String(error)) };
}

/**
 * The logging side of one leasehold object: writes a line when a logger was given, redacts every string in it,
 * and never throws (a logger that throws is reported once as a process warning; its later throws are ignored).
 */
export class LogLine {
  #warned = false;

  constructor(
    private readonly logger: Logger | null,
    /** Fields added to every line, e.g. `{ conductorId }`. */
    private readonly base: Readonly<Record<string, unknown>> = {},
  ) {}

  /** Whether lines go anywhere. */
  get enabled(): boolean {
    return this.logger !== null;
  }

  /** Writes one line at `level`; `fields` are merged over the base fields. */
  write(level: LogLevel, fields: Readonly<Record<string, unknown>>, message: string): void {
    const logger = this.logger;
    if (!logger) return;
    const line: Record<string, unknown> = { ...this.base };
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) line[key] = typeof value === 'string' ? redactSecrets(value) : value;
    }
    try {
      logger[level](line, redactSecrets(message));
    } catch (error) {
      if (this.#warned) return;
      this.#warned = true;
      process.emitWarning(`leasehold: the logger threw on a ${level} line and is ignored for it: ${errorFields(error).message}`, {
        code: 'LEASEHOLD_LOGGER_THREW',
      });
    }
  }
}
