// Workload 2: many workers contending for ONE resource for a fixed time: critical sections/s, exclusion
// violations (an in-process "inside" counter that must never exceed 1), fairness across workers.
import type { AnyContenderId, Contender } from '../contenders.js';
import { jainIndex, median, sleep } from '../stats.js';

export interface ContendedOptions {
  readonly workers: number;
  readonly durationMs: number;
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

/** Warms every contender up, then runs `repeats` rounds in rotated order (see workloads/uncontended.ts). */
export async function runContended(contenders: readonly Contender[], options: ContendedOptions): Promise<ContendedResult> {
  const runs = new Map<AnyContenderId, ContendedRun[]>(contenders.map((c) => [c.id, []]));
  for (const contender of contenders) await contendedRun(contender, options, options.warmupMs, 'contended');
  for (let round = 0; round < options.repeats; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const contender = contenders[(k + round) % contenders.length]!;
      const run = await contendedRun(contender, options, options.durationMs, 'contended');
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
