// Workload 2: many workers contending for ONE resource for a fixed time: critical sections/s, exclusion
// violations (an in-process "inside" counter that must never exceed 1), fairness across workers.
import type { AnyContenderId, Contender } from '../contenders.js';
import { jainIndex, median, sleep } from '../stats.js';

export interface ContendedOptions {
  readonly workers: number;
  /** Each contender's time in one run, given in slices of `sliceMs` taken in turns with the other contenders. */
  readonly durationMs: number;
  readonly sliceMs: number;
  readonly warmupMs: number;
  readonly holdMs: number;
  readonly repeats: number;
  readonly log: (line: string) => void;
}

/** One run of one contender. */
export interface ContendedRun {
  /** Critical sections entered before the deadline, per second of the run. */
  readonly rate: number;
  readonly sections: number;
  /** Entries into the critical section while another worker was inside. */
  readonly violations: number;
  /** Most workers inside the critical section at once (1 when exclusion held). */
  readonly maxInside: number;
  /** Critical sections per worker. */
  readonly perWorker: readonly number[];
  readonly jain: number;
}

export interface ContendedResult {
  readonly runs: ReadonlyMap<AnyContenderId, readonly ContendedRun[]>;
  /** The run with the median rate, per contender. */
  readonly median: ReadonlyMap<AnyContenderId, ContendedRun>;
}

async function contendedRun(contender: Contender, options: ContendedOptions, durationMs: number, resource: string): Promise<ContendedRun> {
  const perWorker = new Array<number>(options.workers).fill(0);
  let inside = 0;
  let maxInside = 0;
  let violations = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    perWorker.map(async (_, worker) => {
      while (performance.now() < end) {
        const release = await contender.acquire(resource);
        inside++;
        if (inside > 1) violations++;
        maxInside = Math.max(maxInside, inside);
        if (performance.now() < end) perWorker[worker]!++;
        await sleep(options.holdMs);
        inside--;
        await release();
      }
    }),
  );
  const sections = perWorker.reduce((a, b) => a + b, 0);
  return { rate: sections / (durationMs / 1000), sections, violations, maxInside, perWorker, jain: jainIndex(perWorker) };
}

/** What one contender did over the slices of one run, summed. */
interface Tally {
  sections: number;
  violations: number;
  maxInside: number;
  readonly perWorker: number[];
}

/**
 * Warms every contender up, then runs `repeats` rounds. In a round each contender gets `durationMs` in slices of
 * `sliceMs`, the contenders taking turns in an order rotated every slice (as in workloads/uncontended.ts): a burst of
 * background load on this shared machine then falls on every contender alike, not on one contender's whole run.
 */
export async function runContended(contenders: readonly Contender[], options: ContendedOptions): Promise<ContendedResult> {
  const runs = new Map<AnyContenderId, ContendedRun[]>(contenders.map((c) => [c.id, []]));
  for (const contender of contenders) await contendedRun(contender, options, options.warmupMs, 'contended');
  const slices = Math.max(1, Math.round(options.durationMs / options.sliceMs));
  const durationMs = slices * options.sliceMs;
  for (let round = 0; round < options.repeats; round++) {
    const tallies = new Map<AnyContenderId, Tally>(
      contenders.map((c) => [c.id, { sections: 0, violations: 0, maxInside: 0, perWorker: new Array<number>(options.workers).fill(0) }]),
    );
    for (let slice = 0; slice < slices; slice++) {
      for (let k = 0; k < contenders.length; k++) {
        const contender = contenders[(k + round + slice) % contenders.length]!;
        const part = await contendedRun(contender, options, options.sliceMs, 'contended');
        const tally = tallies.get(contender.id)!;
        tally.sections += part.sections;
        tally.violations += part.violations;
        tally.maxInside = Math.max(tally.maxInside, part.maxInside);
        part.perWorker.forEach((n, worker) => (tally.perWorker[worker]! += n));
      }
    }
    for (const contender of contenders) {
      const { sections, violations, maxInside, perWorker } = tallies.get(contender.id)!;
      const run: ContendedRun = { rate: sections / (durationMs / 1000), sections, violations, maxInside, perWorker, jain: jainIndex(perWorker) };
      runs.get(contender.id)!.push(run);
      options.log(
        `  contended round ${round + 1} ${contender.id}: ${run.rate.toFixed(1)} CS/s, violations ${run.violations}, ` +
          `per worker ${Math.min(...run.perWorker)}..${Math.max(...run.perWorker)}, Jain ${run.jain.toFixed(3)}`,
      );
    }
  }
  const medianRuns = new Map<AnyContenderId, ContendedRun>();
  for (const [id, list] of runs) {
    const mid = median(list.map((r) => r.rate));
    medianRuns.set(id, list.reduce((best, r) => (Math.abs(r.rate - mid) < Math.abs(best.rate - mid) ? r : best)));
  }
  return { runs, median: medianRuns };
}
