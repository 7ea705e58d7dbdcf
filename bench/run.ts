// npm run bench: leasehold against the raw floor and its peers, side by side, on private redis-server processes
// (free loopback ports, never 6379), then writes BENCHMARKS.md. Set BENCH_QUICK=1 for a short smoke run.
//
// `npm run bench -- --only heartbeat-scale,quorum` runs only the named workloads (see WORKLOADS) and writes their
// report to the temp dir (or --out FILE), never to BENCHMARKS.md: only a full run writes BENCHMARKS.md.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { RECOVERY_DEFAULTS } from '../src/index.js';
import { RedisServer } from '../test/harness/redis-server.js';
import { startBenchCluster } from './cluster.js';
import { killAllConductors } from './conductor-process.js';
import {
  CONTENDER_IDS,
  PEER_IDS,
  QUORUM_CONTENDER_IDS,
  REFERENCE_IDS,
  createContender,
  createQuorumContender,
  createReferenceContender,
  type Contender,
} from './contenders.js';
import { loadNow, machineInfo } from './machine.js';
import { pingRoundTripUs } from './redis-stats.js';
import { renderReport, type BenchConfig } from './report.js';
import { evaluateTargets, type Results } from './targets.js';
import { runContended } from './workloads/contended.js';
import { runHeartbeatScale, type HeartbeatScaleResult } from './workloads/heartbeat-scale.js';
import { runMassOrphan, type MassOrphanSetup } from './workloads/mass-orphan.js';
import { runMemory } from './workloads/memory.js';
import { runRecoveryLatency, type RecoveryLatencyResult } from './workloads/recovery-latency.js';
import { runRenewal } from './workloads/renewal.js';
import { runUncontended, type UncontendedResult } from './workloads/uncontended.js';

const QUICK = process.env.BENCH_QUICK === '1';

/** Every workload, in run order; `--only` picks some of them. */
const WORKLOADS = ['uncontended', 'contended', 'renewal', 'memory', 'recovery-latency', 'mass-orphan', 'heartbeat-scale', 'quorum'] as const;
type Workload = (typeof WORKLOADS)[number];

const { values: args } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string' } } });
const only = args.only?.split(',').map((name) => name.trim()).filter((name) => name !== '');
for (const name of only ?? []) {
  if (!(WORKLOADS as readonly string[]).includes(name)) {
    console.error(`unknown workload "${name}" in --only; the workloads are: ${WORKLOADS.join(', ')}`);
    process.exit(2);
  }
}
const SELECTED = new Set<Workload>((only as Workload[] | undefined) ?? WORKLOADS);
const PARTIAL = SELECTED.size < WORKLOADS.length;
const BENCHMARKS_MD = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const OUTPUT = resolve(args.out ?? (PARTIAL ? join(tmpdir(), 'leasehold-BENCHMARKS.partial.md') : BENCHMARKS_MD));
if (PARTIAL && OUTPUT === BENCHMARKS_MD) {
  console.error('a partial run (--only) never writes BENCHMARKS.md: run every workload, or pick another --out');
  process.exit(2);
}
const run = (workload: Workload): boolean => SELECTED.has(workload);

const CONFIG: BenchConfig = QUICK
  ? {
      uncontended: { concurrencies: [1, 64], durationMs: 300, sliceMs: 100, warmupMs: 200, repeats: 1, resourcesPerWorker: 1024 },
      contended: { workers: 16, durationMs: 1000, sliceMs: 250, warmupMs: 200, holdMs: 1, repeats: 1 },
      renewal: { leases: 10_000, repeats: 1 },
      memory: { leases: 10_000 },
      recoveryLatency: { rounds: 6, lanes: 3, ttlMs: 1000, eventsSweepIntervalMs: 60_000, sweepIntervalMs: 1000 },
      massOrphan: { nodes: 2000, ttlMs: 2000, reserveConcurrency: 64, concurrencies: [RECOVERY_DEFAULTS.concurrency, 128], repeats: 1, sweepOnly: { concurrency: RECOVERY_DEFAULTS.concurrency, sweepIntervalMs: 1000 } },
      heartbeatScale: { leaseCounts: [1000, 10_000], repeats: 2, acquireConcurrency: 256 },
      quorum: { concurrencies: [1, 64], durationMs: 300, sliceMs: 100, warmupMs: 200, repeats: 1, resourcesPerWorker: 1024 },
    }
  : {
      uncontended: { concurrencies: [1, 64], durationMs: 1200, sliceMs: 200, warmupMs: 500, repeats: 5, resourcesPerWorker: 1024 },
      contended: { workers: 16, durationMs: 5000, sliceMs: 500, warmupMs: 1000, holdMs: 1, repeats: 3 },
      renewal: { leases: 10_000, repeats: 5 },
      memory: { leases: 10_000 },
      recoveryLatency: { rounds: 40, lanes: 5, ttlMs: 1000, eventsSweepIntervalMs: 60_000, sweepIntervalMs: 1000 },
      massOrphan: {
        nodes: 10_000,
        ttlMs: 2000,
        reserveConcurrency: 64,
        concurrencies: [RECOVERY_DEFAULTS.concurrency, 64, 128],
        repeats: 2,
        sweepOnly: { concurrency: RECOVERY_DEFAULTS.concurrency, sweepIntervalMs: 1000 },
      },
      heartbeatScale: { leaseCounts: [1000, 10_000, 100_000], repeats: 5, acquireConcurrency: 256 },
      quorum: { concurrencies: [1, 64], durationMs: 1200, sliceMs: 200, warmupMs: 500, repeats: 5, resourcesPerWorker: 1024 },
    };

const log = (line: string): void => console.log(line);

/** Every server this run started, stopped at the end whatever happens. */
const servers = new Set<RedisServer>();

async function startServer(): Promise<RedisServer> {
  const server = await RedisServer.start();
  servers.add(server);
  return server;
}

async function stopServer(server: RedisServer): Promise<void> {
  await server.stop();
  servers.delete(server);
}

/** A client for the benchmark: the test harness's client (1 s connect timeout, one retry per request, errors logged nowhere). */
function clientOf(server: RedisServer): Redis {
  return server.client();
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = machineInfo();
  log(`leasehold bench${QUICK ? ' (QUICK)' : ''}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, redis-server ${machine.redisServer}`);
  if (PARTIAL) log(`only: ${[...SELECTED].join(', ')} (a partial run: the report goes to ${OUTPUT})`);

  // Workloads 1 and 2: one server, every contender on its own client and key prefix.
  let uncontended: UncontendedResult[] | undefined;
  let contended: Results['contended'];
  const pingUs: number[] = [];
  if (run('uncontended') || run('contended')) {
    const server = await startServer();
    log(`main server on ${server.url}`);
    const clients: Redis[] = [];
    const contenders: Contender[] = [];
    const stats = clientOf(server);
    try {
      pingUs.push(await pingRoundTripUs(stats));
      log(`PING round trip (median): ${pingUs[0]!.toFixed(1)} µs`);
      for (const id of CONTENDER_IDS) {
        const client = clientOf(server);
        clients.push(client);
        contenders.push(await createContender(id, client, `bench-${id}`));
      }
      if (run('uncontended')) {
        const references: Contender[] = [];
        for (const id of REFERENCE_IDS) {
          const client = server.client({ enableAutoPipelining: true });
          clients.push(client);
          references.push(await createReferenceContender(id, client, `bench-${id}`));
        }
        uncontended = [];
        for (const concurrency of CONFIG.uncontended.concurrencies) {
          log(`workload 1: uncontended acquire+release, concurrency ${concurrency}`);
          uncontended.push(await runUncontended([...contenders, ...references], { ...CONFIG.uncontended, concurrency, stats: [stats], log }));
        }
      }
      if (run('contended')) {
        log(`workload 2: ${CONFIG.contended.workers} workers contending for one resource`);
        contended = await runContended(contenders, { ...CONFIG.contended, log });
      }
      pingUs.push(await pingRoundTripUs(stats));
      log(`PING round trip (median): ${pingUs[1]!.toFixed(1)} µs`);
    } finally {
      await Promise.allSettled(contenders.map((c) => c.close()));
      for (const client of clients) client.disconnect();
      stats.disconnect();
      await stopServer(server);
    }
  }

  // Workload 3: a private server used only for renewals.
  let renewal: Results['renewal'];
  if (run('renewal')) {
    log(`workload 3: renewing ${CONFIG.renewal.leases} held leases`);
    const renewalServer = await startServer();
    try {
      renewal = await runRenewal(PEER_IDS, { ...CONFIG.renewal, acquireConcurrency: 64, client: () => clientOf(renewalServer), log });
    } finally {
      await stopServer(renewalServer);
    }
  }

  // Workload 4: a fresh server per contender.
  let memory: Results['memory'];
  if (run('memory')) {
    log(`workload 4: Redis memory per held lease (${CONFIG.memory.leases} leases)`);
    memory = await runMemory(CONTENDER_IDS, {
      ...CONFIG.memory,
      acquireConcurrency: 64,
      freshServer: async () => {
        const server = await startServer();
        return { client: () => clientOf(server), stop: () => stopServer(server) };
      },
      log,
    });
  }

  // Workload 5: SIGKILL of a real conductor process, until its node is failed; a private server per variant.
  let recoveryLatency: RecoveryLatencyResult[] | undefined;
  if (run('recovery-latency')) {
    recoveryLatency = [];
    for (const variant of ['events', 'sweep'] as const) {
      const c = CONFIG.recoveryLatency;
      log(`workload 5: SIGKILL to failed, expiry events ${variant === 'events' ? 'heard' : 'dropped'} (${c.rounds} kills, ${c.lanes} at a time)`);
      const latencyServer = await startServer();
      try {
        recoveryLatency.push(
          await runRecoveryLatency({
            variant,
            rounds: c.rounds,
            lanes: c.lanes,
            ttlMs: c.ttlMs,
            sweepIntervalMs: variant === 'events' ? c.eventsSweepIntervalMs : c.sweepIntervalMs,
            server: { url: latencyServer.url, client: () => clientOf(latencyServer) },
            log,
          }),
        );
      } finally {
        killAllConductors();
        await stopServer(latencyServer);
      }
    }
  }

  // Workload 6: one conductor holding many nodes dies; a fresh server per run.
  let massOrphan: Results['massOrphan'];
  if (run('mass-orphan')) {
    const m = CONFIG.massOrphan;
    log(`workload 6: mass orphaning of ${m.nodes} nodes`);
    const setups: MassOrphanSetup[] = [];
    for (let repeat = 0; repeat < m.repeats; repeat++) for (const concurrency of m.concurrencies) setups.push({ concurrency, events: true });
    setups.push({ concurrency: m.sweepOnly.concurrency, events: false, sweepIntervalMs: m.sweepOnly.sweepIntervalMs });
    try {
      massOrphan = await runMassOrphan({
        nodes: m.nodes,
        ttlMs: m.ttlMs,
        reserveConcurrency: m.reserveConcurrency,
        runs: setups,
        freshServer: async () => {
          const server = await startServer();
          return { url: server.url, client: () => clientOf(server), stop: () => stopServer(server) };
        },
        log,
      });
    } finally {
      killAllConductors();
    }
  }

  // Workload 7: heartbeat cost vs lease count on a private Cluster (3 masters + 3 replicas).
  let heartbeatScale: HeartbeatScaleResult | undefined;
  if (run('heartbeat-scale')) {
    const h = CONFIG.heartbeatScale;
    log(`workload 7: heartbeat cost vs lease count (${h.leaseCounts.join(', ')}) on a Redis Cluster`);
    const cluster = await startBenchCluster();
    try {
      log(`  cluster masters: ${cluster.masters.map((m) => `${m.address} (${m.slots})`).join(', ')}`);
      heartbeatScale = await runHeartbeatScale({ ...h, cluster, log });
    } finally {
      await cluster.stop();
    }
  }

  // Workload 8: quorum mode over three independent private masters, against the Redlock peers.
  let quorum: UncontendedResult[] | undefined;
  if (run('quorum')) {
    log('workload 8: quorum mode on three independent masters, uncontended acquire+release');
    const masters = await Promise.all([startServer(), startServer(), startServer()]);
    const clients: Redis[] = [];
    const contenders: Contender[] = [];
    const stats = masters.map((m) => clientOf(m));
    try {
      for (const id of QUORUM_CONTENDER_IDS) {
        const own = masters.map((m) => clientOf(m));
        clients.push(...own);
        contenders.push(createQuorumContender(id, own, `bench-${id}`));
      }
      quorum = [];
      for (const concurrency of CONFIG.quorum.concurrencies) {
        log(`  quorum: concurrency ${concurrency}`);
        quorum.push(await runUncontended(contenders, { ...CONFIG.quorum, concurrency, stats, log }));
      }
    } finally {
      await Promise.allSettled(contenders.map((c) => c.close()));
      for (const client of [...clients, ...stats]) client.disconnect();
      await Promise.all(masters.map((m) => stopServer(m)));
    }
  }

  const results: Results = {
    uncontended,
    contended,
    renewal,
    memory,
    recoveryLatency,
    massOrphan,
    heartbeatScale,
    quorum,
    defaultRecoveryConcurrency: RECOVERY_DEFAULTS.concurrency,
  };
  const targets = evaluateTargets(results);
  const report = renderReport({
    machine,
    loadAtEnd: loadNow(),
    pingUs,
    elapsedS: (performance.now() - started) / 1000,
    config: CONFIG,
    results,
    targets,
    partial: PARTIAL ? [...SELECTED] : null,
  });
  writeFileSync(OUTPUT, report);
  log('');
  for (const target of targets) log(`${target.met ? 'met    ' : 'NOT MET'}  ${target.name}: ${target.measured} (goal ${target.goal})`);
  log(`wrote ${OUTPUT}`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  killAllConductors();
  await Promise.allSettled([...servers].map((server) => server.stop()));
}
