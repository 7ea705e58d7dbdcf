// A real OpenTelemetry metrics SDK for tests: a MeterProvider with a reader the test collects from on demand.
import type { Meter } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';

/** A pull reader: `collect()` reads every instrument's current (cumulative) state. */
class PullReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

type Attrs = Record<string, string | number | boolean>;

/** What one collection saw, with lookups by instrument name and attributes. */
export class Snapshot {
  constructor(readonly metrics: ReadonlyMap<string, MetricData>) {}

  /** Names of the instruments that have data. */
  get names(): string[] {
    return [...this.metrics.keys()].sort();
  }

  /** The unit an instrument was created with. */
  unit(name: string): string | undefined {
    return this.metrics.get(name)?.descriptor.unit;
  }

  /** Sum of a counter's / up-down counter's points whose attributes include `attrs` (0 when none). */
  sum(name: string, attrs: Attrs = {}): number {
    const data = this.metrics.get(name);
    if (!data) return 0;
    if (data.dataPointType !== DataPointType.SUM) throw new Error(`${name} is not a sum`);
    return data.dataPoints.filter((p) => matches(p.attributes, attrs)).reduce((total, p) => total + p.value, 0);
  }

  /** How many values a histogram recorded in points whose attributes include `attrs` (0 when none). */
  count(name: string, attrs: Attrs = {}): number {
    const data = this.metrics.get(name);
    if (!data) return 0;
    if (data.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
    return data.dataPoints.filter((p) => matches(p.attributes, attrs)).reduce((total, p) => total + p.value.count, 0);
  }

  /** The largest value a histogram recorded (over points whose attributes include `attrs`). */
  max(name: string, attrs: Attrs = {}): number {
    const data = this.metrics.get(name);
    if (!data || data.dataPointType !== DataPointType.HISTOGRAM) return -Infinity;
    return Math.max(-Infinity, ...data.dataPoints.filter((p) => matches(p.attributes, attrs)).map((p) => p.value.max ?? -Infinity));
  }

  /** Every attribute set an instrument has points for. */
  attributes(name: string): Attrs[] {
    const data = this.metrics.get(name);
    return data ? data.dataPoints.map((p) => ({ ...(p.attributes as Attrs) })) : [];
  }
}

function matches(have: Record<string, unknown>, want: Attrs): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

/** A fresh SDK: its meter, and `collect()` for a snapshot. `shutdown()` at the end. */
export function otel(): { meter: Meter; collect: () => Promise<Snapshot>; shutdown: () => Promise<void> } {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    meter: provider.getMeter('leasehold-test'),
    collect: async () => {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
      const metrics = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) metrics.set(metric.descriptor.name, metric);
      return new Snapshot(metrics);
    },
    shutdown: () => provider.shutdown(),
  };
}
