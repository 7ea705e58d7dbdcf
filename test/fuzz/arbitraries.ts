// Shared pieces of the bad-input fuzzing (issue 7): random values of every awkward kind, options objects that mix
// valid, invalid and unknown keys, and the one rule every public entry point must keep: it works, or it throws one
// of leasehold's exported error classes with its stable code. Never a TypeError or RangeError from inside.
import fc from 'fast-check';
import { expect } from 'vitest';
import * as api from '../../src/index.js';

/** The stable code of every error class leasehold exports (a new class must be added here, with its code). */
export const ERROR_CODES: Readonly<Record<string, string>> = Object.freeze({
  BackendError: 'BACKEND_ERROR',
  EvictionPolicyError: 'EVICTION_POLICY',
  InvalidHeartbeatError: 'INVALID_HEARTBEAT',
  InvalidNameError: 'INVALID_NAME',
  InvalidOptionError: 'INVALID_OPTION',
  InvalidTtlError: 'INVALID_TTL',
  LeaseLostError: 'LEASE_LOST',
  LeaseReleasedError: 'LEASE_RELEASED',
  LockHeldError: 'LOCK_HELD',
  ManagerClosedError: 'MANAGER_CLOSED',
  QuorumError: 'QUORUM_UNREACHABLE',
  UnknownOptionError: 'UNKNOWN_OPTION',
  InvalidFenceError: 'INVALID_FENCE',
  InvalidStateError: 'INVALID_STATE',
  NodeExistsError: 'NODE_EXISTS',
  NodeNotFoundError: 'NODE_NOT_FOUND',
  StaleFenceError: 'STALE_FENCE',
  UnknownStateError: 'UNKNOWN_STATE',
  ConductorIdInUseError: 'CONDUCTOR_ID_IN_USE',
  ConductorStoppedError: 'CONDUCTOR_STOPPED',
  NodeLockedError: 'NODE_LOCKED',
  TaskReleasedError: 'TASK_RELEASED',
  LiveLeaseError: 'LEASE_LIVE',
  NotOrphanedError: 'NOT_ORPHANED',
  ReasonRequiredError: 'REASON_REQUIRED',
});

const exported = new Set<unknown>(Object.values(api));

/**
 * Fails (with the call and the value's rendering) unless `error` is an instance of an error class leasehold exports,
 * named after its class, with that class's stable code. `allowed` lists values that may be thrown as they are (an
 * AbortSignal's reason, which acquire() rejects with by contract).
 */
export function expectTyped(error: unknown, call: string, allowed: readonly unknown[] = []): void {
  if (allowed.includes(error)) return;
  if (!(error instanceof api.LeaseholdError)) {
    throw new Error(`${call} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}, not a LeaseholdError`, { cause: error });
  }
  const name = error.constructor.name;
  expect(exported.has(error.constructor), `${call}: ${name} is not exported`).toBe(true);
  expect(error.name, `${call}: name of ${name}`).toBe(name);
  expect(error.code, `${call}: code of ${name}`).toBe(ERROR_CODES[name]);
  expect(typeof error.message === 'string' && error.message.length > 0, `${call}: message of ${name}`).toBe(true);
}

/** What a call came to: its value, or what it threw (synchronously or as a rejection). */
export type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown; readonly sync: boolean };

/** Runs `call`, awaiting what it returns, and says how it ended. */
export async function attempt(call: () => unknown): Promise<Outcome> {
  let returned: unknown;
  try {
    returned = call();
  } catch (error) {
    return { ok: false, error, sync: true };
  }
  try {
    return { ok: true, value: await returned };
  } catch (error) {
    return { ok: false, error, sync: false };
  }
}

/** Runs `call` and checks the rule: it works, or it throws a typed error. Returns the outcome for more checks. */
export async function mustBeTyped(call: string, run: () => unknown, allowed: readonly unknown[] = []): Promise<Outcome> {
  const outcome = await attempt(run);
  if (!outcome.ok) expectTyped(outcome.error, call, allowed);
  return outcome;
}

/** Renders a generated value for a failure message (bigints, symbols, functions and cycles included). */
export function render(value: unknown): string {
  return fc.stringify(value);
}

/** Numbers that break naive checks. */
export const WEIRD_NUMBERS: readonly number[] = Object.freeze([
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  0,
  -1,
  0.5,
  1.5,
  1e-9,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
]);

/** Any number: the weird ones, doubles of every size, small and large integers. */
export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...WEIRD_NUMBERS),
  fc.double(),
  fc.integer(),
  fc.integer({ min: -5, max: 5_000 }),
);

/** A lone UTF-16 surrogate (no UTF-8 encoding exists for it). */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** Strings of odd lengths and contents: empty, ASCII, unicode (astral included), over 512 UTF-8 bytes, lone surrogates. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 130, maxLength: 300 }), // mostly over 512 UTF-8 bytes
  fc.string({ unit: 'binary-ascii', minLength: 500, maxLength: 530 }), // either side of 512 bytes
  fc.tuple(fc.string({ maxLength: 8 }), loneSurrogate, fc.string({ maxLength: 8 })).map(([a, s, b]) => a + s + b),
  fc.constantFrom(
    '',
    ' ',
    '\0',
    '\t\n',
    '{}',
    '{0}',
    'a'.repeat(512),
    'a'.repeat(513),
    'é'.repeat(256),
    'é'.repeat(257),
    '😀'.repeat(128),
    '😀'.repeat(129),
    'a'.repeat(70_000),
    '__proto__',
    'constructor',
    'toString',
    'deploying',
    'clean failed',
    'node:',
    'node:victim',
    'victim',
  ),
);

/** Anything at all: odd strings and numbers, and every kind of value fast-check makes (bigints, sparse arrays, ...). */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  oddNumber,
  fc.anything({
    maxDepth: 2,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
  fc.constantFrom<unknown>(null, undefined, true, false, [], {}, () => 1, Symbol('odd'), new Date(Number.NaN), /x/, 10n, new Map(), Object.create(null)),
);

/** A key of an options object that leasehold does not know. */
export const unknownKey: fc.Arbitrary<string> = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('ttl', 'timeout', 'prefix ', 'Owner', 'constructor', 'toString', 'valueOf'));

/**
 * An options argument: not an object at all, or an object with every key of `known` or any subset of them (each
 * value from its arbitrary), sometimes with unknown keys beside them. `fullWeight` sets how often every key is there:
 * raise it for options with several required keys, or too few calls get past validation for `Tally.expectSome`.
 */
export function optionsOf<T extends Record<string, fc.Arbitrary<unknown>>>(known: T, fullWeight = 3): fc.Arbitrary<unknown> {
  const record = fc.record(known, { requiredKeys: [] });
  return fc.oneof(
    { weight: 1, arbitrary: oddValue },
    { weight: fullWeight, arbitrary: fc.record(known) },
    { weight: 2, arbitrary: record },
    {
      weight: 1,
      arbitrary: fc
        .tuple(record, fc.dictionary(unknownKey, oddValue, { minKeys: 1, maxKeys: 2 }))
        .map(([valid, extra]) => ({ ...extra, ...(valid as object) })),
    },
  );
}

/** A value from `valid` `weight` times as often as anything odd (a record of many keys needs a high weight to pass). */
export function mostly<T>(valid: fc.Arbitrary<T>, weight = 2): fc.Arbitrary<unknown> {
  return fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: oddValue });
}

/** Runs per property: modest, so each fuzz file takes seconds. `FUZZ_RUNS` scales it (e.g. 2000 for a long hunt). */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

/** Counts the calls of a property that worked, so a test can check the fuzzing reached past validation. */
export class Tally {
  ok = 0;
  failed = 0;

  add(outcome: Outcome): void {
    if (outcome.ok) this.ok++;
    else this.failed++;
  }

  /** Fails unless at least `share` of the calls worked. */
  expectSome(share = 0.05): void {
    console.log(`TALLY ${expect.getState().currentTestName}: ${this.ok}/${this.ok + this.failed}`);
    expect(this.ok, `only ${this.ok} of ${this.ok + this.failed} calls worked`).toBeGreaterThanOrEqual(Math.max(1, Math.floor((this.ok + this.failed) * share)));
  }
}
