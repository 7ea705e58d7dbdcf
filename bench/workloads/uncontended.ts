// Workload 1: uncontended acquire + release on distinct resources, at a given concurrency: ops/s, plus where the
// time goes (CPU of the benchmark process and of redis-server per operation, server commands per operation).
import type { Redis } from 'ioredis';
import type { AnyContenderId, Contender } from '../contenders.js';
import { commandCalls, commandDelta, serverCpuMicros, sumCalls } from '../redis-stats.js';
import { median } from '../stats.js';

export interface UncontendedOptions {
  readonly concurrency: number;
  /** Measured time per contender per repeat, in ms, split into slices of `sliceMs`. */
  readonly durationMs: number;
  /**
   * Contenders take turns every `sliceMs`, so background load on the machine hits all of them alike instead of
   * whichever happened to run during a burst.
   */
  readonly sliceMs: number;
  readonly warmupMs: number;
  readonly repeats: number;
  /** Distinct resources each worker cycles through (worker w uses `w:0` .. `w:<n-1>`, so workers never collide). */
  readonly resourcesPerWorker: number;
  /**
   * A client on each server the contenders use (one; three in quorum mode), for INFO (its own commands are left
   * out of the counts); server CPU and commands are summed over them.
   */
  readonly stats: readonly Redis[];
  readonly log: (line: string) => void;
}

/** One repeat of one contender (its slices added up). */
export interface UncontendedRun {
  readonly opsPerSec: number;
  /** CPU (user + system) of this Node process per acquire+release, µs. */
  readonly clientCpuUs: number;
  /** CPU of redis-server per acquire+release, µs. */
  readonly serverCpuUs: number;
  /** Commands the server executed per acquire+release, those inside scripts included. */
  readonly serverCommands: number;
}

export interface UncontendedResult {
  readonly concurrency: number;
  readonly runs: ReadonlyMap<AnyContenderId, readonly UncontendedRun[]>;
  /** Median of each field over the runs, per contender. */
  readonly median: ReadonlyMap<AnyContenderId, UncontendedRun>;
}

/** CPU of all the servers, µs. */
async function cpuOf(stats: readonly Redis[]): Promise<number> {
  return (await Promise.all(stats.map(serverCpuMicros))).reduce((a, b) => a + b, 0);
}

/** `concurrency` workers each acquire and release their own resources, back to back, for `durationMs`. */
async function timedRun(contender: Contender, options: UncontendedOptions, durationMs: number, tag: string): Promise<Totals> {
  const { concurrency, resourcesPerWorker, stats } = options;
  let ops = 0;
  const commandsBefore = sumCalls(await Promise.all(stats.map(commandCalls)));
  const serverBefore = await cpuOf(stats);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < end; i++) {
        const release = await contender.acquire(`${tag}:${worker}:${i % resourcesPerWorker}`);
        await release();
        ops++;
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const serverCpuUs = (await cpuOf(stats)) - serverBefore;
  const commands = commandDelta(commandsBefore, sumCalls(await Promise.all(stats.map(commandCalls)))).total;
  return { ops, elapsedS, clientCpuUs: client.user + client.system, serverCpuUs, commands };
}

/** What timed runs measured, added up. */
interface Totals {
  ops: number;
  elapsedS: number;
  clientCpuUs: number;
  serverCpuUs: number;
  commands: number;
}

function add(into: Totals, more: Totals): void {
  into.ops += more.ops;
  into.elapsedS += more.elapsedS;
  into.clientCpuUs += more.clientCpuUs;
  into.serverCpuUs += more.serverCpuUs;
  into.commands += more.commands;
}

function perOp(totals: Totals): UncontendedRun {
  return {
    opsPerSec: totals.ops / totals.elapsedS,
    clientCpuUs: totals.clientCpuUs / totals.ops,
    serverCpuUs: totals.serverCpuUs / totals.ops,
    serverCommands: totals.commands / totals.ops,
  };
}

function medianRun(runs: readonly UncontendedRun[]): UncontendedRun {
  return {
    opsPerSec: median(runs.map((r) => r.opsPerSec)),
    clientCpuUs: median(runs.map((r) => r.clientCpuUs)),
    serverCpuUs: median(runs.map((r) => r.serverCpuUs)),
    serverCommands: median(runs.map((r) => r.serverCommands)),
  };
}

/**
 * Warms every contender up, then runs `repeats` repeats. In a repeat, contenders take turns running one slice
 * each (rotated order) until each ran `durationMs`; a repeat's result per contender is its slices added up.
 */
export async function runUncontended(contenders: readonly Contender[], options: UncontendedOptions): Promise<UncontendedResult> {
  const tag = `u${options.concurrency}`;
  const slices = Math.max(1, Math.round(options.durationMs / options.sliceMs));
  const runs = new Map<AnyContenderId, UncontendedRun[]>(contenders.map((c) => [c.id, []]));
  for (const contender of contenders) await timedRun(contender, options, options.warmupMs, tag);
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    const totals = new Map<AnyContenderId, Totals>(contenders.map((c) => [c.id, { ops: 0, elapsedS: 0, clientCpuUs: 0, serverCpuUs: 0, commands: 0 }]));
    for (let slice = 0; slice < slices; slice++) {
      for (let k = 0; k < contenders.length; k++) {
        const contender = contenders[(k + slice + repeat) % contenders.length]!;
        add(totals.get(contender.id)!, await timedRun(contender, options, options.sliceMs, tag));
      }
    }
    for (const contender of contenders) {
      const run = perOp(totals.get(contender.id)!);
      runs.get(contender.id)!.push(run);
      options.log(
        `  uncontended c=${options.concurrency} repeat ${repeat + 1} ${contender.id}: ${Math.round(run.opsPerSec)} ops/s, ` +
          `CPU/op client ${run.clientCpuUs.toFixed(1)} µs, server ${run.serverCpuUs.toFixed(1)} µs, ${run.serverCommands.toFixed(1)} server commands/op`,
      );
    }
  }
  return { concurrency: options.concurrency, runs, median: new Map([...runs].map(([id, list]) => [id, medianRun(list)])) };
}
