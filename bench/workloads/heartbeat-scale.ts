// Workload 7: what one heartbeat costs as the lease count grows (1k, 10k, 100k by default), on a private Redis Cluster
// (3 masters + 3 replicas). One LockManager on a RedisBackend over an ioredis Cluster client holds N leases; each
// measured beat counts the requests the client sent, the script calls and commands each master ran (its own INFO
// commandstats), and the beat's wall time. Also: the masters' memory per held lease, and how long taking N leases
// one acquire at a time took.
import type { HeartbeatReport } from '../../src/index.js';
import { LockManager, RedisBackend } from '../../src/index.js';
import type { BenchCluster, MasterSnapshot } from '../cluster.js';
import { RETRY_DELAY_MS, TTL_MS } from '../contenders.js';
import { commandDelta, RequestCounter } from '../redis-stats.js';
import { forEachLimited, median, sleep } from '../stats.js';

export interface HeartbeatScaleOptions {
  readonly leaseCounts: readonly number[];
  /** Heartbeats measured per lease count (after one warm-up beat). */
  readonly repeats: number;
  readonly acquireConcurrency: number;
  readonly cluster: BenchCluster;
  readonly log: (line: string) => void;
}

/** Commands that are not the heartbeat's: the cluster's own chatter (replica ACKs, slot-map refreshes), left out. */
const NOT_THE_BEAT = /^(replconf|cluster\|.*|ping|command\|.*|client\|.*|select|readonly)$/;

/** One measured heartbeat. */
export interface ScaleBeat {
  /** The heartbeat report's `durationMs`. */
  readonly wallMs: number;
  /** Commands the Cluster client sent during the beat. */
  readonly clientRequests: number;
  /** Script calls (`EVALSHA` + `EVAL`) each master ran, in the cluster's master order. */
  readonly scriptsPerMaster: readonly number[];
  /** Commands each master ran, script-internal ones included. */
  readonly commandsPerMaster: readonly number[];
  /** CPU of all masters together during the beat, ms. */
  readonly serverCpuMs: number;
  /** CPU (user + system) of this process during the beat, ms: the client's side of it (the INFO reads around it left out). */
  readonly clientCpuMs: number;
  /** Commands by name over all masters, e.g. `get=100000 pexpire=100000 evalsha=112 ...`. */
  readonly breakdown: string;
  readonly renewed: number;
}

/** One lease count. */
export interface HeartbeatScaleRun {
  readonly leases: number;
  readonly shards: number;
  /** Leases (by their shard's hash tag) per master. */
  readonly leasesPerMaster: readonly number[];
  /** Keys per master while the leases were held (INFO keyspace). */
  readonly keysPerMaster: readonly number[];
  /** Taking the N leases, one `acquire` each, `acquireConcurrency` at once, ms. */
  readonly acquireMs: number;
  readonly beats: readonly ScaleBeat[];
  /** The beat with the median wall time. */
  readonly median: ScaleBeat;
  /** Data memory (used_memory without client buffers) per master before and while holding the leases, bytes. */
  readonly memoryBefore: readonly number[];
  readonly memoryAfter: readonly number[];
  /** (after − before, summed over the masters) / leases. */
  readonly bytesPerLease: number;
}

export interface HeartbeatScaleResult {
  readonly masters: readonly string[];
  readonly replicas: number;
  readonly runs: readonly HeartbeatScaleRun[];
}

function describe(byCommand: ReadonlyMap<string, number>): string {
  return [...byCommand].sort((a, b) => b[1] - a[1]).map(([name, calls]) => `${name}=${calls}`).join(' ');
}

/** The beat's share of two snapshots: per master script calls and commands, and all masters' commands by name. */
function beatDelta(before: readonly MasterSnapshot[], after: readonly MasterSnapshot[]) {
  const byCommand = new Map<string, number>();
  const scriptsPerMaster: number[] = [];
  const commandsPerMaster: number[] = [];
  let cpuUs = 0;
  after.forEach((a, i) => {
    const b = before[i]!;
    const delta = commandDelta(b.calls, a.calls);
    let commands = 0;
    for (const [name, n] of delta.byCommand) {
      if (NOT_THE_BEAT.test(name)) continue;
      commands += n;
      byCommand.set(name, (byCommand.get(name) ?? 0) + n);
    }
    scriptsPerMaster.push(delta.scripts);
    commandsPerMaster.push(commands);
    cpuUs += a.cpuUs - b.cpuUs;
  });
  return { scriptsPerMaster, commandsPerMaster, serverCpuMs: cpuUs / 1000, breakdown: describe(byCommand) };
}

async function runOne(leases: number, options: HeartbeatScaleOptions): Promise<HeartbeatScaleRun> {
  const { cluster, log } = options;
  const client = cluster.client();
  const counter = new RequestCounter(client);
  const prefix = `hb${leases}`;
  const backend = new RedisBackend(client, { prefix });
  const locks = new LockManager({ backend, ttlMs: TTL_MS, retryDelayMs: RETRY_DELAY_MS });
  locks.on('error', (error) => log(`  heartbeat-scale: lock manager error: ${String(error)}`));
  try {
    const names = Array.from({ length: leases }, (_, i) => `node:${i}`);
    const shardMaster: number[] = [];
    for (let shard = 0; shard < backend.keys.shards; shard++) shardMaster.push(await cluster.masterOf(backend.keys.heldKey(shard)));
    const leasesPerMaster = cluster.masters.map(() => 0);
    for (const name of names) leasesPerMaster[shardMaster[backend.keys.shardOf(name)]!]!++;

    // Warm-up: load the acquire and release scripts on every master (100 resources cover every shard), then start empty.
    await forEachLimited(100, 10, async (i) => void (await (await locks.acquire(`warm-${i}`, { owner: 'bench' })).release()));
    await cluster.flushAll();
    await sleep(200);
    const memoryBefore = (await cluster.snapshot()).map((s) => s.dataMemory);

    const acquireStart = performance.now();
    await forEachLimited(leases, options.acquireConcurrency, async (i) => void (await locks.acquire(names[i]!, { owner: 'bench' })));
    const acquireMs = performance.now() - acquireStart;
    await sleep(200); // replicas catch up; their output buffers empty
    const held = await cluster.snapshot();
    const memoryAfter = held.map((s) => s.dataMemory);
    const bytesPerLease = memoryAfter.reduce((sum, m, i) => sum + m - memoryBefore[i]!, 0) / leases;
    log(`  heartbeat-scale ${leases}: took ${leases} leases in ${(acquireMs / 1000).toFixed(1)} s (${Math.round(leases / (acquireMs / 1000))}/s), ${bytesPerLease.toFixed(0)} B per lease on the masters`);

    const nextBeat = (): Promise<HeartbeatReport> => new Promise((resolve) => locks.once('heartbeat', resolve));
    // Warm-up beat: the first covering every lease (it also loads the extend script on every master).
    for (let report = await nextBeat(); report.leases < leases; report = await nextBeat());

    const beats: ScaleBeat[] = [];
    for (let round = 0; round < options.repeats; round++) {
      const before = await cluster.snapshot();
      counter.reset();
      const cpuBefore = process.cpuUsage();
      const report = await nextBeat();
      const cpu = process.cpuUsage(cpuBefore);
      const clientRequests = counter.count;
      const after = await cluster.snapshot();
      if (report.lost > 0 || report.renewed !== leases) throw new Error(`heartbeat-scale ${leases}: beat renewed ${report.renewed} of ${leases}, lost ${report.lost}`);
      const clientCpuMs = (cpu.user + cpu.system) / 1000;
      const beat: ScaleBeat = { wallMs: report.durationMs, clientRequests, clientCpuMs, renewed: report.renewed, ...beatDelta(before, after) };
      beats.push(beat);
      log(
        `  heartbeat-scale ${leases} beat ${round + 1}: ${beat.wallMs.toFixed(1)} ms (client CPU ${clientCpuMs.toFixed(0)} ms), ${clientRequests} requests, script calls per master ` +
          `${beat.scriptsPerMaster.join('/')}, ${beat.commandsPerMaster.reduce((a, b) => a + b, 0)} server commands`,
      );
    }
    const mid = median(beats.map((b) => b.wallMs));
    return {
      leases,
      shards: backend.keys.shards,
      leasesPerMaster,
      keysPerMaster: held.map((s) => s.keys),
      acquireMs,
      beats,
      median: beats.reduce((best, b) => (Math.abs(b.wallMs - mid) < Math.abs(best.wallMs - mid) ? b : best)),
      memoryBefore,
      memoryAfter,
      bytesPerLease,
    };
  } finally {
    // Drop the leases without releasing them one by one (N round trips): disconnect first, so the releases close()
    // sends fail at once; the next lease count starts from FLUSHALL anyway.
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    client.disconnect();
    await ended;
    await locks.close().catch(() => undefined);
    await cluster.flushAll();
  }
}

/** Measures each lease count in turn on the given cluster (flushed between counts). */
export async function runHeartbeatScale(options: HeartbeatScaleOptions): Promise<HeartbeatScaleResult> {
  const runs: HeartbeatScaleRun[] = [];
  for (const leases of options.leaseCounts) runs.push(await runOne(leases, options));
  return { masters: options.cluster.masters.map((m) => m.address), replicas: options.cluster.replicas, runs };
}
