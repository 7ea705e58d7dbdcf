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
 * One instrument in {@link METRICS}: what leasehold creates it with from your `Meter`.
 *
 * @example
 * ```ts
 * // One line per instrument, e.g. for a runbook or a dashboard's legend
 * const specs: MetricSpec[] = Object.values(METRICS);
 * for (const spec of specs) console.log(`${spec.name} (${spec.kind}, ${spec.unit}) by ${spec.attributes.join(', ') || '-'}: ${spec.description}`);
 * ```
 *
 * @typeParam Kind - its OpenTelemetry kind.
 * @typeParam Attribute - the attribute keys its measurements carry.
 */
export interface MetricSpec<Kind extends 'counter' | 'upDownCounter' | 'histogram' = 'counter' | 'upDownCounter' | 'histogram', Attribute extends string = string> {
  /** The instrument name, e.g. `"leasehold.leases.lost"`: stable, a rename is a breaking change. */
  readonly name: string;
  /**
   * `counter`: only grows (Prometheus adds `_total`); `upDownCounter`: a level, +1 and −1, each process reporting
   * its own part (sum across processes); `histogram`: a distribution of durations.
   */
  readonly kind: Kind;
  /** The UCUM unit: `ms` for durations, an annotation such as `{lease}` for counts. */
  readonly unit: string;
  /** What it measures, as exporters show it. */
  readonly description: string;
  /** The attribute keys its measurements carry; empty when none. */
  readonly attributes: readonly Attribute[];
}

/**
 * A histogram in {@link METRICS}: a {@link MetricSpec} with the bucket bounds it advises the SDK to use.
 *
 * @example
 * ```ts
 * import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
 *
 * // The advised buckets plus a 10-minute one, for a deployment whose leases live for minutes
 * const latency: HistogramSpec<'trigger'> = METRICS.recoveryLatency;
 * const provider = new MeterProvider({
 *   views: [{ instrumentName: latency.name, aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [...latency.buckets, 600_000] } } }],
 * });
 * ```
 */
export interface HistogramSpec<Attribute extends string = string> extends MetricSpec<'histogram', Attribute> {
  /** Bucket boundaries in ms, passed as `advice.explicitBucketBoundaries` (an SDK view may override them). */
  readonly buckets: readonly number[];
}

/**
 * The instruments of {@link METRICS}, by key. A type alias, not an interface, so `Object.entries(METRICS)` keeps
 * the entries' types.
 *
 * @example
 * ```ts
 * const metrics: Metrics = METRICS;
 * const counters = Object.entries(metrics).filter(([, spec]) => spec.kind === 'counter').map(([, spec]) => spec.name);
 * // ["leasehold.leases.lost", "leasehold.leases.broken", "leasehold.orphans.detected", "leasehold.nodes.recovered"]
 * ```
 */
export type Metrics = {
  /**
   * `leasehold.leases.held`, `{lease}`: leases held now by this process's lock managers, by `backend` (`redis`,
   * `quorum` or `custom`). Recorded by `LockManager`.
   */
  readonly leasesHeld: MetricSpec<'upDownCounter', 'backend'>;
  /**
   * `leasehold.acquire.duration`, ms: each `acquire`/`tryAcquire` call, waiting included, by `outcome`
   * (`acquired`, `contended`, `timeout`, `error`; see {@link AcquireOutcomeName}). Recorded by `LockManager`.
   */
  readonly acquireDuration: HistogramSpec<'outcome'>;
  /** `leasehold.heartbeat.duration`, ms: the round trip of one batched heartbeat (all leases, all masters). Recorded by `LockManager`. */
  readonly heartbeatDuration: HistogramSpec<never>;
  /**
   * `leasehold.leases.lost`, `{lease}`: leases lost by their holder in this process, by `reason`
   * (`token-mismatch`, `deadline`, `forced`; see {@link LeaseLostReason}). Recorded by `LockManager`.
   */
  readonly leasesLost: MetricSpec<'counter', 'reason'>;
  /**
   * `leasehold.leases.broken`, `{lease}`: live leases broken on purpose with `breakLease()` (forced recovery, the
   * takeover of a crashed conductor, a failed recovery handing its node back). Recorded by `LockManager`.
   */
  readonly forcedBreaks: MetricSpec<'counter', never>;
  /**
   * `leasehold.orphans.detected`, `{lease}`: orphaned node leases taken over, by `trigger` (`event`, `sweep`,
   * `operator` from a `RecoveryManager`; `acquire`, `restart` from a `Conductor`).
   */
  readonly orphansDetected: MetricSpec<'counter', 'trigger'>;
  /**
   * `leasehold.nodes.recovered`, `{node}`: nodes moved from a transient state to its failed state, by `from_state`,
   * `to_state` and `trigger`. Recorded by `RecoveryManager` and `Conductor`.
   */
  readonly nodesRecovered: MetricSpec<'counter', 'from_state' | 'to_state' | 'trigger'>;
  /**
   * `leasehold.recovery.latency`, ms: from a lease's expiry (Redis clock) to its node's failed state being written
   * (this host's clock), by `trigger`. Recorded with `nodesRecovered`.
   */
  readonly recoveryLatency: HistogramSpec<'trigger'>;
  /**
   * `leasehold.conductors.online`, `{conductor}`: +1 while a conductor of this process holds its liveness lease;
   * sum it across processes for the fleet. Recorded by `Conductor`.
   */
  readonly conductorsOnline: MetricSpec<'upDownCounter', never>;
};

/**
 * Every instrument leasehold records: its name, kind, unit, description and attribute keys. Names and units are
 * stable (a rename is a breaking change). A Prometheus exporter shows them with `_` for `.`, and counters with a
 * `_total` suffix: `leasehold.leases.lost` is scraped as `leasehold_leases_lost_total`. Frozen.
 *
 * @example
 * ```ts
 * console.log(METRICS.leasesLost.name); // "leasehold.leases.lost"
 * ```
 */
export const METRICS: Metrics = Object.freeze({
  leasesHeld: Object.freeze({
    name: 'leasehold.leases.held',
    kind: 'upDownCounter',
    unit: '{lease}',
    description: 'Leases held now by this process (acquired and neither released nor lost).',
    attributes: Object.freeze(['backend'] as const),
  }),
  acquireDuration: Object.freeze({
    name: 'leasehold.acquire.duration',
    kind: 'histogram',
    unit: 'ms',
    description: 'Duration of acquire and tryAcquire calls, waiting included, by outcome.',
    attributes: Object.freeze(['outcome'] as const),
    buckets: FAST_MS,
  }),
  heartbeatDuration: Object.freeze({
    name: 'leasehold.heartbeat.duration',
    kind: 'histogram',
    unit: 'ms',
    description: 'Round trip of one batched heartbeat renewing every lease held.',
    attributes: Object.freeze([] as const),
    buckets: FAST_MS,
  }),
  leasesLost: Object.freeze({
    name: 'leasehold.leases.lost',
    kind: 'counter',
    unit: '{lease}',
    description: 'Leases lost by their holder in this process, by reason.',
    attributes: Object.freeze(['reason'] as const),
  }),
  forcedBreaks: Object.freeze({
    name: 'leasehold.leases.broken',
    kind: 'counter',
    unit: '{lease}',
    description: 'Live leases broken on purpose with breakLease (forced recovery, takeover of a crashed conductor, a failed recovery handing its node back).',
    attributes: Object.freeze([] as const),
  }),
  orphansDetected: Object.freeze({
    name: 'leasehold.orphans.detected',
    kind: 'counter',
    unit: '{lease}',
    description: 'Orphaned node leases (their holder died) taken over for recovery, by trigger.',
    attributes: Object.freeze(['trigger'] as const),
  }),
  nodesRecovered: Object.freeze({
    name: 'leasehold.nodes.recovered',
    kind: 'counter',
    unit: '{node}',
    description: 'Nodes moved from the transient state of a dead holder to their failed state.',
    attributes: Object.freeze(['from_state', 'to_state', 'trigger'] as const),
  }),
  recoveryLatency: Object.freeze({
    name: 'leasehold.recovery.latency',
    kind: 'histogram',
    unit: 'ms',
    description: "Time from a dead holder's lease expiry to its node's failed state being written.",
    attributes: Object.freeze(['trigger'] as const),
    buckets: SLOW_MS,
  }),
  conductorsOnline: Object.freeze({
    name: 'leasehold.conductors.online',
    kind: 'upDownCounter',
    unit: '{conductor}',
    description: 'Conductors of this process holding their liveness lease (sum across processes for the fleet).',
    attributes: Object.freeze([] as const),
  }),
});

/**
 * The key of one instrument in {@link METRICS}, e.g. `"leasesLost"`.
 *
 * @example
 * ```ts
 * const alertOn: MetricKey[] = ['leasesLost', 'forcedBreaks'];
 * for (const key of alertOn) console.log(`alert when ${METRICS[key].name} grows`);
 * ```
 */
export type MetricKey = keyof Metrics;

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
