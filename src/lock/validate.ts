import { InvalidNameError, InvalidOptionError, InvalidTtlError, UnknownOptionError } from './errors.js';

/** Largest duration Redis and Node timers both accept, in milliseconds (2^31 - 1). */
export const MAX_DURATION_MS = 2_147_483_647;

/** Largest resource, owner or purpose, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 512;

/** Whether `value` is well-formed Unicode: no lone UTF-16 surrogate, which UTF-8 (hence Redis and PostgreSQL) cannot encode. */
export function isWellFormed(value: string): boolean {
  return (value as unknown as { isWellFormed(): boolean }).isWellFormed(); // ES2024, in every Node >= 20
}

/** A short, safe rendering of a bad value for error messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length <= 60) return JSON.stringify(value);
    const head = value.slice(0, 60);
    return JSON.stringify(`${/[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head}…`); // never cut a pair in two
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** Checks a TTL-like duration: a whole number of milliseconds in [min, 2^31-1]. */
export function checkDuration(what: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_DURATION_MS) {
    throw new InvalidTtlError(
      `${what} must be a whole number of milliseconds from ${min} to ${MAX_DURATION_MS}; got ${show(value)}.`,
    );
  }
  return value;
}

/**
 * Checks a resource, owner or purpose: a non-empty, well-formed string of at most 512 UTF-8 bytes. A lone
 * surrogate is refused: UTF-8 cannot encode it, so Redis would store U+FFFD in its place and two different names
 * (`"a\uD800"`, `"a\uDC00"`, `"a\uFFFD"`) would share one lock.
 */
export function checkName(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidNameError(`${what} must be a non-empty string; got ${show(value)}.`);
  }
  if (!isWellFormed(value)) {
    throw new InvalidNameError(
      `${what} must be well-formed Unicode: it holds a lone surrogate, which UTF-8 cannot encode (Redis would store U+FFFD instead, and another name could share its key); got ${show(value)}.`,
    );
  }
  if (value.length * 3 <= MAX_NAME_BYTES) return value; // a UTF-16 unit takes at most 3 UTF-8 bytes: short enough
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_NAME_BYTES) {
    throw new InvalidNameError(`${what} must be at most ${MAX_NAME_BYTES} UTF-8 bytes; got ${bytes} bytes (${show(value)}).`);
  }
  return value;
}

/** Checks a resource prefix to list by: '' (every resource), or a string {@link checkName} takes. */
export function checkResourcePrefix(value: unknown): string {
  return value === '' ? value : checkName('resourcePrefix', value);
}

/** Checks that `options` is a plain object (or undefined) whose keys are all in `known`. */
export function checkOptions<T extends object>(what: string, options: unknown, known: readonly string[]): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(`${what} must be an object; got ${show(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new UnknownOptionError(`${what} has an unknown option "${key}"; known options are: ${known.join(', ')}.`);
    }
  }
  return options;
}

/** Checks a finite number in [min, max). */
export function checkFraction(what: string, value: unknown, min: number, maxExclusive: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value >= maxExclusive) {
    throw new InvalidOptionError(`${what} must be a number from ${min} up to (not including) ${maxExclusive}; got ${show(value)}.`);
  }
  return value;
}

/** Checks an integer in [min, max]. */
export function checkInteger(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`${what} must be a whole number from ${min} to ${max}; got ${show(value)}.`);
  }
  return value;
}

/** Checks an optional AbortSignal. */
export function checkSignal(what: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw new InvalidOptionError(`${what} must be an AbortSignal; got ${show(value)}.`);
  }
  return value;
}
