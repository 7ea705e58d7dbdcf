// The demo's command line: one pure function that validates every option and says clearly what is wrong.
import { parseArgs } from 'node:util';

/** What the demo does to one conductor mid-way. */
export type FaultKind = 'kill' | 'pause' | 'graceful';

/** The demo's options, validated. */
export interface DemoOptions {
  /** Conductor processes to fork (one of them meets the fault). */
  readonly conductors: number;
  /** Nodes to enroll. */
  readonly nodes: number;
  /** Lease TTL in ms; every duration of the run (steps, fault time, work window) scales with it. */
  readonly ttlMs: number;
  readonly fault: FaultKind;
  /** Seeds every choice: operations, step durations, the victim. */
  readonly seed: number;
  /** Print a machine-readable summary on stdout (progress goes to stderr). */
  readonly json: boolean;
  readonly help: boolean;
}

export const DEMO_DEFAULTS = Object.freeze({ conductors: 3, nodes: 12, ttlMs: 5_000, fault: 'kill', seed: 1 } as const);

export const USAGE = `usage: npm run demo -- [options]

  --conductors N            conductor processes, 2 to 8 (default ${DEMO_DEFAULTS.conductors})
  --nodes N                 nodes to enroll, 1 to 200 (default ${DEMO_DEFAULTS.nodes})
  --ttl MS                  lease TTL in ms, 500 to 60000 (default ${DEMO_DEFAULTS.ttlMs}); the run lasts about 10 TTLs
  --fault kill|pause|graceful
                            kill: SIGKILL one conductor mid-way (default)
                            pause: SIGSTOP it past its TTL, then SIGCONT: its writes are refused by the fence
                            graceful: stop it cleanly: nothing to recover
  --seed N                  seeds every choice, 0 to 4294967295 (default ${DEMO_DEFAULTS.seed})
  --json                    print the summary as JSON on stdout (progress goes to stderr)

REDIS_URL: use that Redis (under a prefix of its own, removed at the end) instead of a private redis-server.`;

/** A bad command line: the demo prints the message and the usage, and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function integer(name: string, raw: string, min: number, max: number, unit = ''): number {
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number${unit} from ${min} to ${max}; got ${JSON.stringify(raw)}.`);
  }
  return value;
}

/** Parses and validates `argv` (without node and the script). Throws {@link UsageError}. */
export function parseDemoOptions(argv: readonly string[]): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        conductors: { type: 'string' },
        nodes: { type: 'string' },
        ttl: { type: 'string' },
        fault: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const fault = values.fault ?? DEMO_DEFAULTS.fault;
  if (fault !== 'kill' && fault !== 'pause' && fault !== 'graceful') {
    throw new UsageError(`--fault must be kill, pause or graceful; got ${JSON.stringify(fault)}.`);
  }
  return Object.freeze({
    conductors: values.conductors === undefined ? DEMO_DEFAULTS.conductors : integer('conductors', values.conductors, 2, 8),
    nodes: values.nodes === undefined ? DEMO_DEFAULTS.nodes : integer('nodes', values.nodes, 1, 200),
    ttlMs: values.ttl === undefined ? DEMO_DEFAULTS.ttlMs : integer('ttl', values.ttl, 500, 60_000, ' of ms'),
    fault,
    seed: values.seed === undefined ? DEMO_DEFAULTS.seed : integer('seed', values.seed, 0, 0xffff_ffff),
    json: values.json ?? false,
    help: values.help ?? false,
  });
}
