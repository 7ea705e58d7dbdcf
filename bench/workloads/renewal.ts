// Workload 3: renewing N held leases. leasehold renews all of a manager's leases in one heartbeat; the peers
// renew each lock with its own call, all issued concurrently. Measured: wall time, requests the client sent,
// commands the server executed (INFO commandstats delta, script-internal commands included).
import type { Redis } from 'ioredis';
import type { HeartbeatReport } from '../../src/index.js';
import { holdMany, leaseholdManager, type ContenderId, type PeerId } from '../contenders.js';
import { commandCalls, commandDelta, RequestCounter } from '../redis-stats.js';
import { forEachLimited, median } from '../stats.js';

export interface RenewalOptions {
  readonly leases: number;
  readonly repeats: number;
  /** How many acquisitions run at once while the leases are taken. */
  readonly acquireConcurrency: number;
  /** Creates a new client on the workload's private server (the workload disconnects it at the end). */
  readonly client: () => Redis;
  readonly log: (line: string) => void;
}

/** One renewal of all N leases. */
export interface RenewalRun {
  readonly wallMs: number;
  /** Commands the client sent (counted on the ioredis client, pipelined ones included). */
  readonly clientRequests: number;
  /** Script invocations the server saw (`EVALSHA` + `EVAL`). */
  readonly serverScripts: number;
  /** Every command the server executed, including those run inside scripts. */
  readonly serverCommands: number;
  readonly renewed: number;
  /** Commands per name, e.g. `evalsha=16 get=10000 pexpire=10000 zadd=10000 time=16`. */
  readonly breakdown: string;
}

export interface RenewalResult {
  readonly runs: ReadonlyMap<ContenderId, readonly RenewalRun[]>;
  /** The run with the median wall time, per contender. */
  readonly median: ReadonlyMap<ContenderId, RenewalRun>;
}

function resources(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `node-${i}`);
}

function describe(byCommand: ReadonlyMap<string, number>): string {
  return [...byCommand].sort((a, b) => b[1] - a[1]).map(([name, calls]) => `${name}=${calls}`).join(' ');
}

/**
 * Collects the garbage the contenders measured before left behind (node runs with --expose-gc: see package.json),
 * so that each measurement pays for its own garbage only. Without it, leasehold's beat, measured first in every
 * round, ran right after the peers' 30,000 renewals of the round before.
 */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('the renewal workload needs node --expose-gc (npm run bench passes it)');
  gc();
}

/** Measures `renew` between two command-stat snapshots on `stats`, with `counter` counting the client's requests. */
async function measured(stats: Redis, counter: RequestCounter, renew: () => Promise<{ wallMs: number; renewed: number }>): Promise<RenewalRun> {
  collectGarbage();
  const before = await commandCalls(stats);
  counter.reset();
  const { wallMs, renewed } = await renew();
  const clientRequests = counter.count;
  const delta = commandDelta(before, await commandCalls(stats));
  return { wallMs, clientRequests, serverScripts: delta.scripts, serverCommands: delta.total, renewed, breakdown: describe(delta.byCommand) };
}

interface Holder {
  readonly id: ContenderId;
  readonly counter: RequestCounter;
  /** Renews every lease once and reports the wall time (for leasehold: waits for the next heartbeat). */
  readonly renew: () => Promise<{ wallMs: number; renewed: number }>;
}

/**
 * Holds N leases with leasehold (one manager) and N locks with each peer, all on the workload's private server.
 * Each round measures one leasehold heartbeat, then, right after it (the next beat is `heartbeatMs` away), each
 * peer's renewal of all its locks in rotated order: the contenders are measured close together in time, never
 * overlapping.
 */
export async function runRenewal(peers: readonly PeerId[], options: RenewalOptions): Promise<RenewalResult> {
  const stats = options.client();
  const clients: Redis[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const newClient = (): { client: Redis; counter: RequestCounter } => {
    const client = options.client();
    clients.push(client);
    return { client, counter: new RequestCounter(client) };
  };
  try {
    const names = resources(options.leases);

    const lh = newClient();
    const locks = leaseholdManager(lh.client, 'renew-lh');
    locks.on('error', (error) => console.error('leasehold background error:', error));
    cleanups.push(() => locks.close());
    await forEachLimited(names.length, options.acquireConcurrency, async (i) => void (await locks.acquire(names[i]!, { owner: 'bench' })));
    const nextBeat = (): Promise<HeartbeatReport> => new Promise((resolve) => locks.once('heartbeat', resolve));
    const leasehold: Holder = {
      id: 'leasehold',
      counter: lh.counter,
      renew: async () => {
        const report = await nextBeat();
        if (report.lost > 0 || report.leases !== options.leases) throw new Error(`leasehold beat: ${JSON.stringify(report)}`);
        return { wallMs: report.durationMs, renewed: report.renewed };
      },
    };

    const peerHolders: Holder[] = [];
    for (const id of peers) {
      const { client, counter } = newClient();
      const held = await holdMany(id, client, `renew-${id}`, names, options.acquireConcurrency);
      cleanups.push(() => held.releaseAll());
      peerHolders.push({
        id,
        counter,
        renew: async () => {
          const started = performance.now();
          const renewed = await held.renewAll();
          if (renewed !== options.leases) throw new Error(`${id} renewed ${renewed} of ${options.leases} locks`);
          return { wallMs: performance.now() - started, renewed };
        },
      });
    }
    options.log(`  renewal: ${options.leases} leases held by leasehold and by each peer; leasehold beats every ${locks.options.heartbeatMs} ms`);

    // Warm-up: the first beat covering every lease (it also loads the script on the connection); one round per peer.
    for (let report = await nextBeat(); report.leases < options.leases; report = await nextBeat());
    for (const holder of peerHolders) await holder.renew();

    const runs = new Map<ContenderId, RenewalRun[]>([leasehold, ...peerHolders].map((h) => [h.id, []]));
    for (let round = 0; round < options.repeats; round++) {
      const lhRun = await measured(stats, leasehold.counter, leasehold.renew);
      const beatEnded = performance.now();
      runs.get('leasehold')!.push(lhRun);
      const line = [`leasehold ${lhRun.wallMs.toFixed(1)} ms / ${lhRun.clientRequests} requests`];
      for (let k = 0; k < peerHolders.length; k++) {
        const holder = peerHolders[(k + round) % peerHolders.length]!;
        const run = await measured(stats, holder.counter, holder.renew);
        runs.get(holder.id)!.push(run);
        line.push(`${holder.id} ${run.wallMs.toFixed(1)} ms / ${run.clientRequests} requests`);
      }
      if (performance.now() - beatEnded > locks.options.heartbeatMs - 200) {
        throw new Error('the peers\' renewals ran into the next leasehold heartbeat: their measurements overlap');
      }
      options.log(`  renewal round ${round + 1}: ${line.join(', ')}`);
    }

    const medians = new Map<ContenderId, RenewalRun>();
    for (const [id, list] of runs) {
      const mid = median(list.map((r) => r.wallMs));
      medians.set(id, list.reduce((best, r) => (Math.abs(r.wallMs - mid) < Math.abs(best.wallMs - mid) ? r : best)));
    }
    return { runs, median: medians };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('renewal cleanup:', error));
    for (const client of clients) client.disconnect();
    stats.disconnect();
  }
}
