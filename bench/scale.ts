// npm run scale: 100,000 nodes held by 10 conductor processes on a private Redis Cluster (3 masters + 3 replicas),
// for 60 s, then one conductor SIGKILLed and its 10,000 nodes failed by a RecoveryManager's sweeps. Writes SCALE.md.
//
// Every conductor is a real process (bench/conductor-child.ts): a `Conductor` on a `LockManager` on a `RedisBackend`
// over an ioredis Cluster client, its nodes in a `RedisNodeStore` on a separate private standalone server. Nothing
// touches a Redis it did not start (free loopback ports, never 6379).
//
// Options: --quick (3 conductors x 1,000 nodes, 10 s hold; writes to the temp dir, not SCALE.md),
//          --conductors N, --nodes N (per conductor), --hold-s N, --out FILE.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Cluster, Redis } from 'ioredis';
import {
  LockManager,
  RecoveryManager,
  RECOVERY_DEFAULTS,
  RedisBackend,
  RedisNodeStore,
  nodeResource,
  type NodeStore,
  type RecoveryTrigger,
} from '../src/index.js';
import { RedisServer } from '../test/harness/redis-server.js';
import { startBenchCluster, type BenchCluster, type MasterSnapshot } from './cluster.js';
import { ConductorProcess, killAllConductors, type ChildMessage } from './conductor-process.js';
import { loadNow, machineInfo } from './machine.js';
import { commandCalls, commandDelta, dataMemory, keyspace, serverCpuMicros, type CommandCalls } from './redis-stats.js';
import { renderScaleReport, type ChildResult, type MasterRow, type PhaseOps, type ScaleResult, type StoreRow, type TimelineRow } from './scale-report.js';
import { forEachLimited, sleep } from './stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    conductors: { type: 'string' },
    nodes: { type: 'string' },
    'hold-s': { type: 'string' },
    out: { type: 'string' },
  },
});
const QUICK = args.quick === true;
const CONFIG = {
  conductors: Number(args.conductors ?? (QUICK ? 3 : 10)),
  nodesPerConductor: Number(args.nodes ?? (QUICK ? 1000 : 10_000)),
  ttlMs: 10_000,
  holdMs: Number(args['hold-s'] ?? (QUICK ? 10 : 60)) * 1000,
  /** Reservations each conductor process runs at once while taking its nodes. */
  reserveConcurrency: 64,
  /** Node creations at once (the parent, before any conductor starts). */
  createConcurrency: 256,
  recoveryConcurrency: RECOVERY_DEFAULTS.concurrency,
  sweepIntervalMs: RECOVERY_DEFAULTS.sweepIntervalMs,
};
const DEFAULT_RUN = !QUICK && args.conductors === undefined && args.nodes === undefined && args['hold-s'] === undefined;
const OUTPUT = args.out ?? (DEFAULT_RUN ? new URL('../SCALE.md', import.meta.url).pathname : join(tmpdir(), 'leasehold-SCALE.partial.md'));
const PREFIX = 'scale';

const log = (line: string): void => console.log(`[${(performance.now() / 1000).toFixed(1).padStart(6)} s] ${line}`);

/** Per-master command deltas between two snapshots of the cluster. */
function phaseOps(before: readonly MasterSnapshot[], after: readonly MasterSnapshot[], ms: number): PhaseOps[] {
  return after.map((a, i) => {
    const b = before[i]!;
    const delta = commandDelta(b.calls, a.calls);
    return { total: delta.total, scripts: delta.scripts, byCommand: delta.byCommand, cpuMs: (a.cpuUs - b.cpuUs) / 1000, ms };
  });
}

/** The node store server's state at one moment. */
interface StoreSnapshot {
  readonly calls: CommandCalls;
  readonly keys: number;
  readonly dataMemory: number;
  readonly cpuUs: number;
}

async function storeSnapshot(client: Redis): Promise<StoreSnapshot> {
  const [calls, keys, memory, cpuUs] = await Promise.all([commandCalls(client), keyspace(client), dataMemory(client), serverCpuMicros(client)]);
  return { calls, keys: keys.keys, dataMemory: memory, cpuUs };
}

function storeOps(before: StoreSnapshot, after: StoreSnapshot, ms: number): PhaseOps {
  const delta = commandDelta(before.calls, after.calls);
  return { total: delta.total, scripts: delta.scripts, byCommand: delta.byCommand, cpuMs: (after.cpuUs - before.cpuUs) / 1000, ms };
}

/** A node store that counts, per node, the transitions into a failed state it applied (the recovery's writes). */
function countingStore(store: NodeStore, failedWrites: Map<string, number>): NodeStore {
  return {
    get: (id) => store.get(id),
    list: (query) => store.list(query),
    create: (node) => store.create(node),
    transition: async (id, transition) => {
      const written = await store.transition(id, transition);
      if (written.provisionState === 'deploy failed') failedWrites.set(id, (failedWrites.get(id) ?? 0) + 1);
      return written;
    },
  };
}

/** What the parent keeps of one conductor process. */
interface Child {
  readonly id: string;
  readonly process: ConductorProcess;
  readonly nodeIds: readonly string[];
  readonly beats: { at: number; leases: number; renewed: number; lost: number; durationMs: number; cpuUs: number; rssBytes: number }[];
  readonly lost: { at: number; resource: string; reason: string }[];
  readonly failures: string[];
  reserveMs: number;
  killedAt: number | null;
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = machineInfo();
  const total = CONFIG.conductors * CONFIG.nodesPerConductor;
  log(`leasehold scale${QUICK ? ' (QUICK)' : ''}: ${CONFIG.conductors} conductors x ${CONFIG.nodesPerConductor} nodes, TTL ${CONFIG.ttlMs} ms, hold ${CONFIG.holdMs / 1000} s`);
  log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, redis-server ${machine.redisServer}, load ${machine.loadAtStart.toFixed(2)}`);

  let cluster: BenchCluster | null = null;
  let storeServer: RedisServer | null = null;
  const clients: (Redis | Cluster)[] = [];
  const children: Child[] = [];
  let recovery: RecoveryManager | null = null;
  let recoveryLocks: LockManager | null = null;
  try {
    const clusterStart = performance.now();
    cluster = await startBenchCluster();
    storeServer = await RedisServer.start();
    log(`cluster up in ${((performance.now() - clusterStart) / 1000).toFixed(1)} s: masters ${cluster.masters.map((m) => `${m.address} (${m.slots})`).join(', ')}; node store on ${storeServer.url}`);

    const storeClient = storeServer.client();
    clients.push(storeClient);
    const store = new RedisNodeStore(storeClient, { prefix: PREFIX });
    const parentCluster = cluster.client();
    clients.push(parentCluster);
    const keys = new RedisBackend(parentCluster, { prefix: PREFIX }).keys;

    const epochOf = async (): Promise<number> => Number(/cluster_current_epoch:(\d+)/.exec(String(await cluster!.masters[0]!.client.cluster('INFO')))?.[1] ?? -1);
    const epochAtStart = await epochOf();

    // Where each shard lives, and so each node lease.
    const shardMaster: number[] = [];
    for (let shard = 0; shard < keys.shards; shard++) shardMaster.push(await cluster.masterOf(keys.heldKey(shard)));

    const nodeIds = (k: number): string[] => Array.from({ length: CONFIG.nodesPerConductor }, (_, i) => `c${k}-n${i}`);
    const allIds = Array.from({ length: CONFIG.conductors }, (_, k) => nodeIds(k));
    const leasesPerMaster = cluster.masters.map(() => 0);
    for (const ids of allIds) for (const id of ids) leasesPerMaster[shardMaster[keys.shardOf(nodeResource(id))]!]!++;

    const createStart = performance.now();
    const flat = allIds.flat();
    await forEachLimited(flat.length, CONFIG.createConcurrency, async (i) => void (await store.create({ id: flat[i]!, provisionState: 'available', driver: 'ipmi' })));
    const createMs = performance.now() - createStart;
    log(`created ${total} nodes in the store in ${(createMs / 1000).toFixed(1)} s`);

    // The conductor processes.
    for (let k = 0; k < CONFIG.conductors; k++) {
      const id = `conductor-${k}`;
      const child: Child = {
        id,
        process: new ConductorProcess({ redisUrl: '', clusterNodes: cluster.startupNodes, storeUrl: storeServer.url, prefix: PREFIX, id, ttlMs: CONFIG.ttlMs }),
        nodeIds: allIds[k]!,
        beats: [],
        lost: [],
        failures: [],
        reserveMs: 0,
        killedAt: null,
      };
      child.process.onMessage = (m: ChildMessage) => {
        const at = performance.now();
        if (m.type === 'beat') {
          child.beats.push({
            at,
            leases: Number(m.leases),
            renewed: Number(m.renewed),
            lost: Number(m.lost),
            durationMs: Number(m.durationMs),
            cpuUs: Number(m.cpuUs),
            rssBytes: Number(m.rssBytes),
          });
        } else if (m.type === 'lost') child.lost.push({ at, resource: String(m.resource), reason: String(m.reason) });
        else if (m.type === 'failed') child.failures.push(String(m.error));
      };
      children.push(child);
    }
    await Promise.all(children.map((c) => c.process.next('ready', 120_000)));
    log(`${children.length} conductor processes started`);

    // Phase 1: every conductor reserves its nodes (Conductor.reserve, then a fenced move to `deploying`), all at once.
    const s0 = await cluster.snapshot();
    const st0 = await storeSnapshot(storeClient);
    const reserveStart = performance.now();
    await Promise.all(
      children.map(async (c) => {
        const reply = await c.process.ask(
          { type: 'reserve', nodeIds: c.nodeIds, to: 'deploying', purpose: 'deploy', concurrency: CONFIG.reserveConcurrency },
          'reserved',
          1_800_000,
        );
        c.reserveMs = Number(reply.ms);
        log(`  ${c.id}: ${c.nodeIds.length} nodes reserved and deploying in ${(c.reserveMs / 1000).toFixed(1)} s`);
      }),
    );
    const reserveWallMs = performance.now() - reserveStart;
    const s1 = await cluster.snapshot();
    const st1 = await storeSnapshot(storeClient);
    log(`all ${total} nodes reserved in ${(reserveWallMs / 1000).toFixed(1)} s (${Math.round(total / (reserveWallMs / 1000))} nodes/s)`);

    // Each conductor's next heartbeat that renews every lease it holds (its nodes and its liveness lease).
    const fullBeat = (c: Child, after: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const deadline = performance.now() + 4 * CONFIG.ttlMs;
        const check = (): void => {
          if (c.beats.some((b) => b.at > after && b.leases >= c.nodeIds.length + 1 && b.renewed === b.leases)) return resolve();
          if (performance.now() > deadline) return reject(new Error(`${c.id}: no heartbeat renewed all of its leases within ${4 * CONFIG.ttlMs} ms`));
          setTimeout(check, 50);
        };
        check();
      });
    await Promise.all(children.map((c) => fullBeat(c, reserveStart)));
    log('every conductor has renewed all of its leases in one heartbeat');

    // Phase 2: hold everything for holdMs; heartbeats only.
    const s2 = await cluster.snapshot();
    const st2 = await storeSnapshot(storeClient);
    const holdStart = performance.now();
    const loadAtHoldStart = loadNow();
    const timeline: TimelineRow[] = [];
    for (let left = CONFIG.holdMs, from = holdStart; left > 0; left -= 10_000) {
      await sleep(Math.min(10_000, left));
      const now = performance.now();
      const lost = children.reduce((sum, c) => sum + c.lost.length, 0);
      const beats = children.flatMap((c) => c.beats.filter((b) => b.at > from && b.at <= now));
      timeline.push({ atS: (now - holdStart) / 1000, load: loadNow(), lostSoFar: lost, beats: beats.length, maxBeatMs: Math.max(0, ...beats.map((b) => b.durationMs)) });
      log(`  holding: ${((now - holdStart) / 1000).toFixed(0)} s, ${lost} leases lost so far, load ${loadNow().toFixed(2)}`);
      from = now;
    }
    const holdEnd = performance.now();
    const loadAtHoldEnd = loadNow();
    const s3 = await cluster.snapshot();
    const st3 = await storeSnapshot(storeClient);

    // Phase 3: a recovery manager (the parent; its own LockManager and Cluster client, sweeps only: no expiry-event
    // subscriber, and the cluster publishes none), then SIGKILL of one conductor at a random point of its beat cycle.
    const recoveryClient = cluster.client();
    clients.push(recoveryClient);
    recoveryLocks = new LockManager({ backend: new RedisBackend(recoveryClient, { prefix: PREFIX }), ttlMs: CONFIG.ttlMs });
    recoveryLocks.on('error', (error) => log(`recovery lock manager error: ${String(error)}`));
    const failedWrites = new Map<string, number>();
    recovery = new RecoveryManager({
      locks: recoveryLocks,
      nodes: countingStore(store, failedWrites),
      concurrency: CONFIG.recoveryConcurrency,
      sweepIntervalMs: CONFIG.sweepIntervalMs,
    });
    const victim = children[0]!;
    const victimIds = new Set(victim.nodeIds);
    const recovered = new Map<string, number>();
    const triggers: Record<RecoveryTrigger, number> = { event: 0, sweep: 0, operator: 0 };
    let wrongOwner = 0;
    let victimRecovered = 0;
    let firstExpiry = Infinity;
    let lastExpiry = -Infinity;
    let firstRecoveredAt = Infinity;
    let lastRecoveredAt = -Infinity;
    let failedAttempts = 0;
    let allDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    recovery.on('recovered', (event) => {
      const at = performance.now();
      const times = (recovered.get(event.nodeId) ?? 0) + 1;
      recovered.set(event.nodeId, times);
      triggers[event.trigger]++;
      if (!victimIds.has(event.nodeId) || event.previous.owner !== victim.id) wrongOwner++;
      else if (times === 1) victimRecovered++;
      firstExpiry = Math.min(firstExpiry, event.previous.expiredAt);
      lastExpiry = Math.max(lastExpiry, event.previous.expiredAt);
      firstRecoveredAt = Math.min(firstRecoveredAt, at);
      lastRecoveredAt = Math.max(lastRecoveredAt, at);
      if (victimRecovered === victimIds.size) allDone();
    });
    recovery.on('failed', (event) => {
      failedAttempts++;
      log(`  recovery of ${event.nodeId} failed: ${String(event.error)}`);
    });
    recovery.on('degraded', (message) => log(`  recovery degraded: ${message}`));
    recovery.on('error', (error) => log(`  recovery error: ${String(error)}`));
    await recovery.start();
    const sweepsBefore = recovery.counters().sweeps;

    const lastVictimBeat = victim.beats.length;
    while (victim.beats.length === lastVictimBeat) await sleep(20);
    await sleep(Math.random() * recoveryLocks.options.heartbeatMs);
    const s4 = await cluster.snapshot();
    const st4 = await storeSnapshot(storeClient);
    const killEpoch = Date.now();
    const killedAt = performance.now();
    victim.killedAt = killedAt;
    await victim.process.kill();
    log(`SIGKILLed ${victim.id} (pid ${victim.process.child.pid}) holding ${victim.nodeIds.length} nodes`);
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = CONFIG.ttlMs + 180_000;
    const finished = await Promise.race([done.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    const recoveryEnd = performance.now();
    const s5 = await cluster.snapshot();
    const st5 = await storeSnapshot(storeClient);
    const sweeps = recovery.counters().sweeps - sweepsBefore;
    log(`${finished ? 'all' : 'NOT all'} of ${victim.id}'s nodes recovered: ${recovered.size} in ${((recoveryEnd - killedAt) / 1000).toFixed(1)} s after the kill, ${sweeps} sweeps`);
    await sleep(1000); // a second recovery of a node would show up here

    // The node store's own account.
    const failedNodes = await store.list({ state: 'deploy failed' });
    const deployingNodes = await store.list({ state: 'deploying' });
    const failedIds = new Set(failedNodes.map((n) => n.id));
    const failedOfVictim = [...failedIds].filter((id) => victimIds.has(id)).length;
    const failedOthers = failedIds.size - failedOfVictim;
    const namingVictim = failedNodes.filter((n) => n.lastError?.startsWith(`"${victim.id}" held this node`) === true).length;
    const writes = [...victimIds].map((id) => failedWrites.get(id) ?? 0);
    const storeKeys = await keyspace(storeClient);

    const childResults: ChildResult[] = children.map((c) => {
      const inHold = c.beats.filter((b) => b.at >= holdStart && b.at <= holdEnd);
      const afterKill = c.beats.filter((b) => b.at > killedAt && b.at <= recoveryEnd);
      const cpuFirst = c.beats.find((b) => b.at >= holdStart);
      const cpuLast = [...c.beats].reverse().find((b) => b.at <= holdEnd);
      return {
        id: c.id,
        pid: c.process.child.pid ?? 0,
        nodes: c.nodeIds.length,
        reserveMs: c.reserveMs,
        holdBeats: inHold.map((b) => ({ leases: b.leases, renewed: b.renewed, lost: b.lost, durationMs: b.durationMs })),
        recoveryBeats: afterKill.map((b) => ({ leases: b.leases, renewed: b.renewed, lost: b.lost, durationMs: b.durationMs })),
        lostEvents: c.lost.length,
        lostBeforeKill: c.lost.filter((l) => c.killedAt === null || l.at < c.killedAt).length,
        beatLost: c.beats.reduce((sum, b) => sum + b.lost, 0),
        lostReasons: Object.fromEntries([...new Set(c.lost.map((l) => l.reason))].map((reason) => [reason, c.lost.filter((l) => l.reason === reason).length])),
        firstLostS: c.lost.length > 0 ? (c.lost[0]!.at - holdStart) / 1000 : null,
        holdCpuMs: cpuFirst && cpuLast && cpuLast !== cpuFirst ? (cpuLast.cpuUs - cpuFirst.cpuUs) / 1000 : null,
        holdCpuSpanMs: cpuFirst && cpuLast ? cpuLast.at - cpuFirst.at : 0,
        rssBytes: Math.max(0, ...c.beats.map((b) => b.rssBytes)),
        killed: c.killedAt !== null,
        failures: c.failures,
      };
    });

    // Did any master fail over meanwhile (a starved master misses cluster-node-timeout)? Compare the masters now.
    const mastersAtEnd = (await cluster.handle.masters()).map((m) => `${m.host}:${m.port}`).sort();
    const epochAtEnd = await epochOf().catch(() => -1);

    const masterRows: MasterRow[] = cluster.masters.map((m, i) => ({
      address: m.address,
      slots: m.slots,
      shards: shardMaster.filter((owner) => owner === i).length,
      nodeLeases: leasesPerMaster[i]!,
      keys: s3[i]!.keys,
      expires: s3[i]!.expires,
      dataMemoryBefore: s0[i]!.dataMemory,
      dataMemory: s3[i]!.dataMemory,
    }));
    const storeRow: StoreRow = { address: `${storeServer.host}:${storeServer.port}`, keys: storeKeys.keys, keysAtHold: st3.keys, dataMemory: st3.dataMemory };

    const result: ScaleResult = {
      machine,
      loadAtEnd: loadNow(),
      loadAtHold: [loadAtHoldStart, loadAtHoldEnd],
      elapsedS: (performance.now() - started) / 1000,
      quick: QUICK,
      config: { ...CONFIG, shards: keys.shards, replicas: cluster.replicas, heartbeatMs: recoveryLocks.options.heartbeatMs },
      createMs,
      reserveWallMs,
      children: childResults,
      masters: masterRows,
      store: storeRow,
      timeline,
      topology: { mastersAtStart: cluster.masters.map((m) => m.address).sort(), mastersAtEnd, epochAtStart, epochAtEnd },
      ops: {
        reserve: { masters: phaseOps(s0, s1, reserveWallMs), store: storeOps(st0, st1, reserveWallMs) },
        hold: { masters: phaseOps(s2, s3, holdEnd - holdStart), store: storeOps(st2, st3, holdEnd - holdStart) },
        recovery: { masters: phaseOps(s4, s5, recoveryEnd - killedAt), store: storeOps(st4, st5, recoveryEnd - killedAt) },
      },
      recovery: {
        victim: victim.id,
        nodes: victim.nodeIds.length,
        finished,
        recovered: recovered.size,
        duplicates: [...recovered.values()].reduce((sum, n) => sum + n - 1, 0),
        wrongOwner,
        failedAttempts,
        triggers,
        sweeps,
        killToFirstExpiryMs: firstExpiry - killEpoch,
        expirySpreadMs: lastExpiry - firstExpiry,
        killToFirstFailedMs: firstRecoveredAt - killedAt,
        killToAllFailedMs: finished ? lastRecoveredAt - killedAt : Infinity,
        firstExpiryToAllFailedMs: finished ? killEpoch + (lastRecoveredAt - killedAt) - firstExpiry : Infinity,
        store: {
          deployFailed: failedIds.size,
          deployFailedOfVictim: failedOfVictim,
          deployFailedOthers: failedOthers,
          namingVictim,
          deploying: deployingNodes.length,
          writesOnce: writes.filter((n) => n === 1).length,
          writesTwiceOrMore: writes.filter((n) => n > 1).length,
          writesNone: writes.filter((n) => n === 0).length,
        },
      },
    };
    writeFileSync(OUTPUT, renderScaleReport(result));
    log(`wrote ${OUTPUT}`);
    const falseLosses = childResults.reduce((sum, c) => sum + c.lostBeforeKill + (c.killed ? 0 : c.lostEvents - c.lostBeforeKill), 0);
    if (falseLosses > 0 || !finished || result.recovery.store.writesOnce !== victim.nodeIds.length) process.exitCode = 1;
  } finally {
    killAllConductors();
    await recovery?.stop().catch(() => undefined);
    await recoveryLocks?.close().catch(() => undefined);
    for (const client of clients) client.disconnect();
    await cluster?.stop();
    await storeServer?.stop();
  }
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  killAllConductors();
}
