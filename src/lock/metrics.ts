/**
 * The metrics leasehold records, through the OpenTelemetry metrics API: every instrument's stable name, kind, unit
 * and attributes are in {@link METRICS}, the one place they are defined. Nothing here loads `@opentelemetry/api`:
 * its types are imported for type checking only, and instruments are created from the `Meter` the user hands in.
 *
 * @packageDocumentation
 */
import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import { InvalidOptionError } from './errors.js';
import { show } from './validate.js';

/** Bucket bounds of the short latencies (acquire, heartbeat), ms. */
const FAST_MS = Object.freeze([1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]);
/** Bucket bounds of recovery latency (from lease expiry: TTL scale), ms. */
const SLOW_MS = Object.freeze([100, 250, 500, 1_000, 2_500, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000]);

/**
 * Every instrument leasehold records: its name, kind, unit, description and attribute keys. Names and units are
 * stable (a rename is a breaking change). A Prometheus exporter shows them with `_` for `.`, and counters with a
 * `_total` suffix: `leasehold.leases.lost` is scraped as `leasehold_leases_lost_total`.
 *
 * @example
 * ```ts
 * console.log(METRICS.leasesLost.name); // "leasehold.leases.lost"
 * ```
 */
export const METRICS = Object.freeze({
  /** Leases held now by this process's lock managers. Recorded by `LockManager`. */
  leasesHeld: Object.freeze({
    name: 'leasehold.leases.held',
    kind: 'upDownCounter',
    unit: '{lease}',
    description: 'Leases held now by this process (acquired and neither released nor lost).',
    attributes: Object.freeze(['backend'] as const),
  }),
  /** How long `acquire`/`tryAcquire` took, waiting included, by how it ended. Recorded by `LockManager`. */
  acquireDuration: Object.freeze({
    name: 'leasehold.acquire.duration',
    kind: 'histogram',
    unit: 'ms',
    description: 'Duration of acquire and tryAcquire calls, waiting included, by outcome.',
    attributes: Object.freeze(['outcome'] as const),
    buckets: FAST_MS,
  }),
  /** Round trip of one batched heartbeat (all leases, all masters). Recorded by `LockManager`. */
  heartbeatDuration: Object.freeze({
    name: 'leasehold.heartbeat.duration',
    kind: 'histogram',
    unit: 'ms',
    description: 'Round trip of one batched heartbeat renewing every lease held.',
    attributes: Object.freeze([] as const),
    buckets: FAST_MS,
  }),
  /** Leases lost, by why. Recorded by `LockManager`. */
  leasesLost: Object.freeze({
    name: 'leasehold.leases.lost',
    kind: 'counter',
    unit: '{lease}',
    description: 'Leases lost by their holder in this process, by reason.',
    attributes: Object.freeze(['reason'] as const),
  }),
  /** Live leases broken on purpose with `breakLease()`. Recorded by `LockManager`. */
  forcedBreaks: Object.freeze({
    name: 'leasehold.leases.broken',
    kind: 'counter',
    unit: '{lease}',
    description: 'Live leases broken on purpose with breakLease (forced recovery, takeover of a crashed conductor, a failed recovery handing its node back).',
    attributes: Object.freeze([] as const),
  }),
  /** Orphaned node leases taken over, by what found them. Recorded by `RecoveryManager` and `Conductor`. */
  orphansDetected: Object.freeze({
    name: 'leasehold.orphans.detected',
    kind: 'counter',
    unit: '{lease}',
    description: 'Orphaned node leases (their holder died) taken over for recovery, by trigger.',
    attributes: Object.freeze(['trigger'] as const),
  }),
  /** Nodes moved from a transient state to its failed state. Recorded by `RecoveryManager` and `Conductor`. */
  nodesRecovered: Object.freeze({
    name: 'leasehold.nodes.recovered',
    kind: 'counter',
    unit: '{node}',
    description: 'Nodes moved from the transient state of a dead holder to their failed state.',
    attributes: Object.freeze(['from_state', 'to_state', 'trigger'] as const),
  }),
  /** From a lease's expiry (Redis clock) to its node's failed state being written. Recorded with `nodesRecovered`. */
  recoveryLatency: Object.freeze({
    name: 'leasehold.recovery.latency',
    kind: 'histogram',
    unit: 'ms',
    description: "Time from a dead holder's lease expiry to its node's failed state being written.",
    attributes: Object.freeze(['trigger'] as const),
    buckets: SLOW_MS,
  }),
  /** Conductors whose liveness lease is held: +1 per conductor online in this process, summed across processes. */
  conductorsOnline: Object.freeze({
    name: 'leasehold.conductors.online',
    kind: 'upDownCounter',
    unit: '{conductor}',
    description: 'Conductors of this process holding their liveness lease (sum across processes for the fleet).',
    attributes: Object.freeze([] as const),
  }),
} as const);

/** The key of one instrument in {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;

/** The OpenTelemetry instrument type of one {@link METRICS} entry. */
export type InstrumentOf<K extends MetricKey> = (typeof METRICS)[K]['kind'] extends 'counter'
  ? Counter
  : (typeof METRICS)[K]['kind'] extends 'histogram'
    ? Histogram
    : UpDownCounter;

/** A set of instruments created from one meter. */
export type Instruments<K extends MetricKey> = { readonly [P in K]: InstrumentOf<P> };

/**
 * Creates the instruments `keys` from `meter`, as {@link METRICS} defines them. Recording never throws: a meter
 * that does (the OpenTelemetry API promises it won't) is reported once as a process warning and ignored after.
 */
export function createInstruments<K extends MetricKey>(meter: Meter, keys: readonly K[]): Instruments<K> {
  const made: Partial<Record<MetricKey, Counter | Histogram | UpDownCounter>> = {};
  let warned = false;
  const guard = (record: () => void): void => {
    try {
      record();
    } catch (error) {
      if (warned) return;
      warned = true;
      process.emitWarning(`leasehold: recording a metric threw, and is ignored: ${error instanceof Error ? error.message : String(error)}`, {
        code: 'LEASEHOLD_METER_THREW',
      });
    }
  };
  for (const key of keys) {
    const spec: (typeof METRICS)[MetricKey] = METRICS[key];
    const options = { description: spec.description, unit: spec.unit };
    if (spec.kind === 'histogram') {
      const histogram = meter.createHistogram(spec.name, { ...options, advice: { explicitBucketBoundaries: [...spec.buckets] } });
      made[key] = { record: (value, attributes) => guard(() => histogram.record(value, attributes)) } satisfies Histogram;
    } else {
      const counter = spec.kind === 'counter' ? meter.createCounter(spec.name, options) : meter.createUpDownCounter(spec.name, options);
      made[key] = { add: (value, attributes) => guard(() => counter.add(value, attributes)) } satisfies Counter;
    }
  }
  return made as Instruments<K>;
}

const METER_METHODS = ['createCounter', 'createHistogram', 'createUpDownCounter'] as const;

/** Checks the optional `meter` option of `owner`: an OpenTelemetry `Meter`, or undefined. */
export function checkMeter(owner: string, meter: unknown): Meter | null {
  if (meter === undefined) return null;
  const methods = meter as Record<string, unknown> | null;
  if (typeof methods !== 'object' || methods === null || !METER_METHODS.every((m) => typeof methods[m] === 'function')) {
    throw new InvalidOptionError(
      `${owner} option meter must be an OpenTelemetry Meter (with ${METER_METHODS.join(', ')}), e.g. metrics.getMeter('leasehold'); got ${show(meter)}.`,
    );
  }
  return meter as Meter;
}
