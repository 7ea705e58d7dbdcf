// Workload 6: mass orphaning. One real conductor process reserves N nodes (Conductor.reserve, then a fenced move to
// `deploying`; its LockManager heartbeats all N leases), is SIGKILLed, and one RecoveryManager in the parent fails
// them all. Measured: from the first lease's expiry (its deadline in Redis) until the last node is in
// `deploy failed`, once per recovery concurrency, each on a fresh private server. Where the time goes: each
// recovery step's time in flight (the lock backend and the node store are wrapped with timers), the requests the
// parent sent, the commands Redis ran, and the CPU both used.
import type { Redis } from 'ioredis';
import {
  LockManager,
  RecoveryManager,
  RECOVERY_DEFAULTS,
  RedisBackend,
  RedisNodeStore,
  type AcquireOutcome,
  type AcquireRequest,
  type NodeStore,
  type RecoveryTrigger,
} from '../../src/index.js';
import { ConductorProcess } from '../conductor-process.js';
import { commandCalls, commandDelta, RequestCounter, serverCpuMicros } from '../redis-stats.js';
import { forEachLimited, sleep } from '../stats.js';
import { subscribeWhenReady } from '../../test/harness/clients.js';

/** One run: the recovery manager's concurrency, and whether it hears expiry events or only sweeps. */
export interface MassOrphanSetup {
  readonly concurrency: number;
  /** Expiry events heard (a subscriber, default sweep period) or dropped (no subscriber, notifications off). */
  readonly events: boolean;
  /** The sweep period; the default (`RECOVERY_DEFAULTS.sweepIntervalMs`) when absent. */
  readonly sweepIntervalMs?: number;
}

export interface MassOrphanOptions {
  readonly nodes: number;
  readonly ttlMs: number;
  /** The runs, in order, one fresh server each. */
  readonly runs: readonly MassOrphanSetup[];
  /** How many reservations the conductor process runs at once while taking its nodes. */
  readonly reserveConcurrency: number;
  /** Starts a fresh private server: its URL, a client factory and a stop function. */
  readonly freshServer: () => Promise<{ readonly url: string; readonly client: () => Redis; readonly stop: () => Promise<void> }>;
  readonly log: (line: string) => void;
}

/** Time one recovery step spent in flight, summed over every orphan. */
export interface StepTime {
  readonly calls: number;
  readonly totalMs: number;
}

/** The four steps of one orphan's recovery. */
export const RECOVERY_STEPS = ['acquire', 'get', 'transition', 'release'] as const;
export type RecoveryStep = (typeof RECOVERY_STEPS)[number];

export interface MassOrphanRun {
  readonly concurrency: number;
  readonly events: boolean;
  readonly sweepIntervalMs: number;
  readonly nodes: number;
  /** Keys in the server when the conductor was killed (`DBSIZE`). */
  readonly keys: number;
  /** The conductor process's time to reserve its N nodes and move them to `deploying`, ms. */
  readonly reserveMs: number;
  readonly recovered: number;
  readonly failedAttempts: number;
  readonly duplicates: number;
  /** Nodes in `deploy failed` at the end (listed from the store). */
  readonly inFailedState: number;
  /** Last lease deadline minus first, ms (all were set by one batched heartbeat). */
  readonly expirySpreadMs: number;
  /** From the SIGKILL to the first lease deadline, ms. */
  readonly killToExpiryMs: number;
  /** From the first lease deadline to the first and to the last `expired` event published for a node lock, ms. */
  readonly firstEventMs: number | null;
  readonly lastEventMs: number | null;
  /** From the first lease deadline to the first and to the last node in `deploy failed`, ms. */
  readonly firstFailedMs: number;
  readonly allFailedMs: number;
  /** Recovered nodes per second between the first and the last recovery. */
  readonly perSecond: number;
  readonly triggers: Readonly<Record<RecoveryTrigger, number>>;
  /** Sweeps the manager completed between the SIGKILL and the last recovery. */
  readonly sweeps: number;
  /** Requests the parent's client sent per orphan (the subscriber connection not counted). */
  readonly clientRequestsPerOrphan: number;
  /** Script calls (`EVALSHA` + `EVAL`) and all commands Redis ran, per orphan, and commands by name. */
  readonly serverScriptsPerOrphan: number;
  readonly serverCommandsPerOrphan: number;
  readonly serverBreakdown: string;
  /** CPU used from the SIGKILL to the last recovery (idle until the first expiry), ms: the parent, redis-server. */
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
  readonly steps: Readonly<Record<RecoveryStep, StepTime>>;
}

/** A RedisBackend that times acquire and release (the recovery manager's lock steps). */
class TimedBackend extends RedisBackend {
  constructor(
    client: Redis,
    prefix: string,
    private readonly timed: (step: RecoveryStep, ms: number) => void,
  ) {
    super(client, { prefix });
  }

  override async acquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const started = performance.now();
    try {
      return await super.acquire(request);
    } finally {
      this.timed('acquire', performance.now() - started);
    }
  }

  override async release(resource: string, token: string): Promise<boolean> {
    const started = performance.now();
    try {
      return await super.release(resource, token);
    } finally {
      this.timed('release', performance.now() - started);
    }
  }
}

/** The store with `get` and `transition` timed. */
function timedStore(store: NodeStore, timed: (step: RecoveryStep, ms: number) => void): NodeStore {
  const time = async <T>(step: RecoveryStep, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      timed(step, performance.now() - started);
    }
  };
  return {
    get: (id) => time('get', () => store.get(id)),
    list: (query) => store.list(query),
    create: (node) => store.create(node),
    transition: (id, transition) => time('transition', () => store.transition(id, transition)),
  };
}

function describe(byCommand: ReadonlyMap<string, number>, per: number): string {
  return [...byCommand]
    .filter(([, calls]) => calls / per >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, calls]) => `${name}=${(calls / per).toFixed(2)}`)
    .join(' ');
}

async function runOne(setup: MassOrphanSetup, options: MassOrphanOptions): Promise<MassOrphanRun> {
  const { concurrency, events } = setup;
  const sweepIntervalMs = setup.sweepIntervalMs ?? RECOVERY_DEFAULTS.sweepIntervalMs;
  const { nodes: n, ttlMs, log } = options;
  const server = await options.freshServer();
  const redis = server.client();
  const stats = server.client();
  const watcher = server.client();
  const prefix = 'mass';
  const steps = Object.fromEntries(RECOVERY_STEPS.map((s) => [s, { calls: 0, totalMs: 0 }])) as Record<RecoveryStep, { calls: number; totalMs: number }>;
  let timing = false;
  const timed = (step: RecoveryStep, ms: number): void => {
    if (!timing) return;
    steps[step].calls++;
    steps[step].totalMs += ms;
  };
  const backend = new TimedBackend(redis, prefix, timed);
  const store = new RedisNodeStore(redis, { prefix });
  const locks = new LockManager({ backend, ttlMs });
  locks.on('error', (error) => log(`  mass orphan: lock manager error: ${String(error)}`));
  const recovery = new RecoveryManager({ locks, nodes: timedStore(store, timed), concurrency, sweepIntervalMs, ...(events ? { subscriber: redis } : {}) });
  let child: ConductorProcess | null = null;
  try {
    const ids = Array.from({ length: n }, (_, i) => `mass-${i}`);
    await forEachLimited(n, 64, async (i) => void (await store.create({ id: ids[i]!, provisionState: 'available', driver: 'ipmi' })));

    const recoveredIds = new Set<string>();
    let duplicates = 0;
    let failedAttempts = 0;
    let firstExpiry = Infinity;
    let lastExpiry = -Infinity;
    let firstFailedEpoch = Infinity;
    let lastFailedEpoch = -Infinity;
    const triggers: Record<RecoveryTrigger, number> = { event: 0, sweep: 0, operator: 0 };
    let allDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    recovery.on('recovered', (event) => {
      const at = Date.now();
      if (recoveredIds.has(event.nodeId)) duplicates++;
      recoveredIds.add(event.nodeId);
      triggers[event.trigger]++;
      firstExpiry = Math.min(firstExpiry, event.previous.expiredAt);
      lastExpiry = Math.max(lastExpiry, event.previous.expiredAt);
      firstFailedEpoch = Math.min(firstFailedEpoch, at);
      lastFailedEpoch = Math.max(lastFailedEpoch, at);
      if (recoveredIds.size === n) allDone();
    });
    recovery.on('failed', () => void failedAttempts++);
    recovery.on('degraded', (message) => log(`  mass orphan: degraded: ${message}`));
    recovery.on('error', (error) => log(`  mass orphan: recovery error: ${String(error)}`));
    await recovery.start();

    // Our own ear on the server's expiry events: when Redis actually deleted the node locks.
    let firstEventEpoch = Infinity;
    let lastEventEpoch = -Infinity;
    watcher.on('message', (_channel: string, key: string) => {
      const resource = backend.keys.resourceOfLockKey(key);
      if (resource === null || !resource.startsWith('node:')) return;
      const at = Date.now();
      firstEventEpoch = Math.min(firstEventEpoch, at);
      lastEventEpoch = Math.max(lastEventEpoch, at);
    });
    await subscribeWhenReady(watcher, '__keyevent@0__:expired');

    child = new ConductorProcess({ redisUrl: server.url, prefix, id: 'conductor-mass', ttlMs });
    const conductor = child;
    let lost = 0;
    let fullBeat: () => void = () => undefined;
    const beatCoveringAll = new Promise<void>((resolve) => (fullBeat = resolve));
    conductor.onMessage = (m) => {
      if (m.type === 'lost') lost++;
      if (m.type === 'beat' && Number(m.leases) >= n + 1 && Number(m.renewed) === Number(m.leases)) fullBeat();
    };
    await conductor.next('ready');
    const reserved = await conductor.ask({ type: 'reserve', nodeIds: ids, to: 'deploying', purpose: 'deploy', concurrency: options.reserveConcurrency }, 'reserved', 300_000);
    await beatCoveringAll; // every deadline now comes from one batched heartbeat
    await sleep(locks.options.heartbeatMs * Math.random());
    if (lost > 0) throw new Error(`the conductor process lost ${lost} leases before it was killed`);
    const keys = await stats.dbsize();

    const counter = new RequestCounter(redis);
    const commandsBefore = await commandCalls(stats);
    const serverCpuBefore = await serverCpuMicros(stats);
    const sweepsBefore = recovery.counters().sweeps;
    const cpuBefore = process.cpuUsage();
    timing = true;
    const killedEpoch = Date.now();
    await conductor.kill();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([done.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ttlMs + 120_000)))]);
    clearTimeout(timer);
    timing = false;
    const cpu = process.cpuUsage(cpuBefore);
    const sweeps = recovery.counters().sweeps - sweepsBefore;
    const clientRequests = counter.count;
    const serverCpuMs = ((await serverCpuMicros(stats)) - serverCpuBefore) / 1000;
    const delta = commandDelta(commandsBefore, await commandCalls(stats));
    if (!finished) log(`  mass orphan: only ${recoveredIds.size} of ${n} nodes recovered within ${ttlMs + 120_000} ms of the kill`);

    await sleep(300); // a second recovery of the same node would show up here
    const inFailedState = (await store.list({ state: 'deploy failed' })).length;
    const perOrphan = Math.max(1, recoveredIds.size);
    const run: MassOrphanRun = {
      concurrency,
      events,
      sweepIntervalMs,
      nodes: n,
      keys,
      reserveMs: Number(reserved.ms),
      recovered: recoveredIds.size,
      failedAttempts,
      duplicates,
      inFailedState,
      expirySpreadMs: lastExpiry - firstExpiry,
      killToExpiryMs: firstExpiry - killedEpoch,
      firstEventMs: Number.isFinite(firstEventEpoch) ? firstEventEpoch - firstExpiry : null,
      lastEventMs: Number.isFinite(lastEventEpoch) ? lastEventEpoch - firstExpiry : null,
      firstFailedMs: firstFailedEpoch - firstExpiry,
      allFailedMs: finished ? lastFailedEpoch - firstExpiry : Infinity,
      perSecond: recoveredIds.size / Math.max(0.001, (lastFailedEpoch - firstFailedEpoch) / 1000),
      triggers,
      sweeps,
      clientRequestsPerOrphan: clientRequests / perOrphan,
      serverScriptsPerOrphan: delta.scripts / perOrphan,
      serverCommandsPerOrphan: delta.total / perOrphan,
      serverBreakdown: describe(delta.byCommand, perOrphan),
      clientCpuMs: (cpu.user + cpu.system) / 1000,
      serverCpuMs,
      steps,
    };
    log(
      `  mass orphan, ${events ? 'events' : 'events dropped'}, concurrency ${concurrency}: ${run.recovered} of ${n} failed ${run.allFailedMs.toFixed(0)} ms after the first expiry ` +
        `(${run.perSecond.toFixed(0)}/s, Redis published the last expiry event at +${run.lastEventMs?.toFixed(0) ?? '?'} ms, ${sweeps} sweeps meanwhile)`,
    );
    return run;
  } finally {
    await child?.kill();
    await recovery.stop();
    await locks.close();
    for (const client of [redis, stats, watcher]) client.disconnect();
    await server.stop();
  }
}

/** Runs the mass orphaning once per setup, in order. */
export async function runMassOrphan(options: MassOrphanOptions): Promise<MassOrphanRun[]> {
  const runs: MassOrphanRun[] = [];
  for (const setup of options.runs) runs.push(await runOne(setup, options));
  return runs;
}
