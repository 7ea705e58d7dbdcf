// Runs one fault scenario end to end: private lock and store Redis servers, worker processes (optionally behind
// fault proxies), recovery managers in this process, the fault, then the checker over the merged history.
import { fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { LockManager, RecoveryManager, RedisNodeStore, nodeResource } from '../../src/index.js';
import { createRedisClient } from '../harness/clients.js';
import type { RedisClusterHandle } from '../harness/redis-cluster.js';
import { RedisServer } from '../harness/redis-server.js';
import { check, type CheckReport } from './checker.js';
import { HistoryWriter, now, readHistory, type Entry } from './history.js';
import { FaultProxy } from './proxy.js';
import { LockSide, type Topology } from './topology.js';
import { workerScript } from './worker-bundle.js';

const root = resolve(import.meta.dirname, '../..');

/** What a scenario's fault step can reach. */
export interface FaultContext {
  readonly ttlMs: number;
  /** The lock server (quorum mode: the first master; unused by a Cluster). */
  readonly lockServer: RedisServer;
  /** The private Cluster, when the scenario's topology is 'cluster'. */
  readonly cluster: RedisClusterHandle | null;
  /** Quorum mode's three masters (lockServer first); [lockServer] otherwise. */
  readonly masters: readonly RedisServer[];
  readonly workers: ChildProcess[];
  readonly proxies: FaultProxy[];
  /** One per recovery manager, in front of its expiry subscriber's connections (`subscriberProxies`). */
  readonly subscriberProxies: FaultProxy[];
  readonly recovery: RecoveryManager[];
  /** The merged history so far. */
  history(): Entry[];
  /**
   * Sends a worker an IPC message (see worker.ts) and waits for its ack: a `target` is acked at once, a `stubborn`
   * once the worker took the lease it will be stubborn about, with that lease's node.
   */
  tell(worker: ChildProcess, message: { type: 'stubborn'; ms: number } | { type: 'target'; nodeId: string; ms: number }): Promise<{ nodeId?: string }>;
  /**
   * Records a fault in the history. `breaks` names the assumption of mutual exclusion it breaks on purpose (a clock
   * jump): the checker then allows overlaps of a holder from before it with a rival from after it.
   */
  fault(name: string, detail?: string, breaks?: string): void;
  /** SIGKILLs a worker and records it. */
  kill(worker: ChildProcess): void;
  /** Waits until the worker holds a lease (by the history), then SIGKILLs it: the kill always leaves an orphan. */
  killHolding(worker: ChildProcess): Promise<void>;
  sleep(ms: number): Promise<void>;
}

/** A scenario: its set-up and the fault it injects. */
export interface Scenario {
  readonly name: string;
  readonly workers: number;
  readonly resources: number;
  readonly ttlMs: number;
  readonly recoveryManagers: number;
  readonly sweepIntervalMs?: number;
  /** Extra redis-server arguments of the lock server. */
  readonly serverArgs?: string[];
  /** Run the lock server under libfaketime, so the fault can jump its clock (`ctx.lockServer.jumpClock(ms)`). */
  readonly fakeClock?: boolean;
  /** Where leases live: one server (default), a Cluster of 3 masters + 3 replicas, or quorum mode over 3 masters. */
  readonly topology?: Topology;
  /** Put each recovery manager's expiry subscriber behind a fault proxy of its own. */
  readonly subscriberProxies?: boolean;
  /** A contention storm: every worker waits for node r0, holds it about holdMs, pauses up to thinkMs, again. */
  readonly storm?: { readonly holdMs: number; readonly thinkMs: number };
  /** The shortest run the fault fits in (short mode runs at least this long). */
  readonly minRunMs?: number;
  /** The run length in long mode (`npm run soak`), when the scenario fixes its own (the storm: 30 s, as issue 7 says). */
  readonly longRunMs?: number;
  /** The fault is aimed to make careless holders write with a stale fence: some must try, and all be refused. */
  readonly provokesStaleWrites?: boolean;
  /** What this scenario promises beyond the common guarantees: a message for each promise the result broke. */
  readonly expectations?: (result: ScenarioResult) => string[];
  /** A bound or a finding to state in RELIABILITY.md's notes, from the results of its runs ('' for none). */
  readonly note?: (results: readonly ScenarioResult[]) => string;
  /**
   * A library bug the checker catches here, reported and not fixed yet: violations matching it are listed as known
   * (the test passes; the soak table shows them and names the bug). Remove it once the bug is fixed.
   */
  readonly knownBug?: { readonly description: string; readonly matches: RegExp };
  /** Put each worker behind its own fault proxy. */
  readonly proxies?: boolean;
  /** Workers that ignore their lease's signal and go on writing (so only the fence can stop them). */
  readonly careless?: boolean;
  /** Whether killed holders' orphans must be recovered (checked once / twice / never). */
  readonly expectRecovery: boolean;
  /**
   * The fault erases orphan records on purpose (Redis losing its data): leases lost to it are not checked for
   * recovery. Everywhere else a lost lease, never released, expires as an orphan and must be recovered once.
   */
  readonly forgetsOrphans?: boolean;
  /**
   * The fault breaks an assumption of mutual exclusion on purpose (e.g. Redis losing its data): overlaps are then
   * reported but allowed, as long as every stale write is rejected.
   */
  readonly overlapAllowed?: string;
  /** Injects the fault, some time into the run. */
  inject(ctx: FaultContext): Promise<void> | void;
}

/** A scenario's numbers. */
export interface ScenarioResult extends CheckReport {
  readonly scenario: string;
  readonly durationMs: number;
  /** How long the workers worked (from their common start). */
  readonly runMs: number;
  /** Leases still held in Redis at the end (workers all stopped or killed and recovered): must be 0. */
  readonly leasesLeft: number;
  /** Nodes left in a transient state with no live holder at the end: must be 0. */
  readonly stuckNodes: number;
}

export async function runScenario(scenario: Scenario, runMs: number): Promise<ScenarioResult> {
  const started = now();
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-faults-'));
  const file = join(dir, 'history.jsonl');
  const runner = new HistoryWriter(file, 'runner');
  const prefix = `faults-${scenario.name.replace(/\W+/g, '-')}`;
  const [lockServer, storeServer] = await Promise.all([RedisServer.start({ args: scenario.serverArgs ?? [], fakeClock: scenario.fakeClock === true }), RedisServer.start()]);
  const clients: Redis[] = [];
  const client = (server: RedisServer): Redis => {
    const c = createRedisClient(server, { maxRetriesPerRequest: 2 });
    clients.push(c);
    return c;
  };
  const proxies: FaultProxy[] = [];
  const subscriberProxies: FaultProxy[] = [];
  const workers: ChildProcess[] = [];
  const managers: RecoveryManager[] = [];
  const lockManagers: LockManager[] = [];
  let side: LockSide | null = null;
  try {
    side = await LockSide.start(scenario.topology ?? 'standalone', lockServer, prefix);
    const store = new RedisNodeStore(client(storeServer), { prefix });
    for (let i = 0; i < scenario.resources; i++) await store.create({ id: `r${i}`, provisionState: 'manageable' });

    for (let m = 0; m < scenario.recoveryManagers; m++) {
      const { backend, subscriber: own } = await side.connect();
      let subscriber = own;
      if (scenario.subscriberProxies) {
        const proxy = await FaultProxy.start(lockServer);
        subscriberProxies.push(proxy);
        subscriber = (await side.connect(proxy)).subscriber;
      }
      const locks = new LockManager({ backend, ttlMs: scenario.ttlMs });
      locks.on('error', () => undefined);
      lockManagers.push(locks);
      const writer = new HistoryWriter(file, `recovery-${m}`);
      const manager = new RecoveryManager({ locks, nodes: store, subscriber, sweepIntervalMs: scenario.sweepIntervalMs ?? 500 });
      manager.on('recovered', (e) =>
        writer.record({ kind: 'recovered', resource: nodeResource(e.nodeId), fence: e.fence, previousFence: e.previous.fence, to: e.to, trigger: e.trigger }),
      );
      // An orphan found in a stable state is recovered by clearing its record: it counts as its one recovery.
      manager.on('skipped', (e) => {
        if (e.reason === 'stable' && e.previous) writer.record({ kind: 'recovered', resource: nodeResource(e.nodeId), fence: 0, previousFence: e.previous.fence, to: 'unchanged', trigger: e.trigger });
      });
      manager.on('error', () => undefined);
      managers.push(manager);
      await manager.start();
    }

    for (let w = 0; w < scenario.workers; w++) {
      let via: FaultProxy | undefined;
      if (scenario.proxies) {
        via = await FaultProxy.start(lockServer);
        proxies.push(via);
      }
      const child = fork(await workerScript(), {
        cwd: root,
        execArgv: [],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: {
          ...process.env,
          ...side.workerEnv(via),
          STORE_URL: `redis://${storeServer.host}:${storeServer.port}`,
          PREFIX: prefix,
          WHO: `worker-${w}`,
          HISTORY: file,
          TTL_MS: String(scenario.ttlMs),
          RESOURCES: String(scenario.resources),
          DURATION_MS: String(runMs),
          IGNORE_SIGNAL: scenario.careless ? '1' : '0',
          ...(scenario.storm ? { MODE: 'storm', HOLD_MS: String(scenario.storm.holdMs), THINK_MS: String(scenario.storm.thinkMs) } : {}),
        },
      });
      workers.push(child);
    }

    // Every worker says ready once started; then all start together.
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((ready, fail) => {
            w.once('exit', (code, signal) => fail(new Error(`worker ${w.pid} exited before it was ready (${code ?? signal})`)));
            w.on('message', (m: { type?: string }) => m.type === 'ready' && ready());
          }),
      ),
    );
    for (const w of workers) w.send({ type: 'go' });
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    /** The worker's last lease event: an acquire-ok means it holds that lease now. */
    const lastLeaseEvent = (worker: ChildProcess): Entry | undefined =>
      readHistory(file)
        .filter((e) => e.pid === worker.pid && (e.kind === 'acquire-ok' || e.kind === 'released' || e.kind === 'lost'))
        .at(-1);
    await sleep(Math.min(1_500, runMs / 3));
    // Workers run runMs from the go, and on while the fault is still being injected (three failovers on a busy
    // machine can outlast the run): each second, two more seconds.
    const keepRunning = setInterval(() => {
      for (const w of workers) if (w.connected) w.send({ type: 'extend', ms: 2_000 }, () => undefined);
    }, 1_000);
    try {
      await scenario.inject({
        ttlMs: scenario.ttlMs,
        lockServer,
        cluster: side.cluster,
        masters: side.masters,
        workers,
        proxies,
        subscriberProxies,
        recovery: managers,
        history: () => readHistory(file),
        fault: (name, detail, breaks) => runner.record({ kind: 'fault', name, ...(detail === undefined ? {} : { detail }), ...(breaks === undefined ? {} : { breaks }) }),
        kill: (worker) => {
          worker.kill('SIGKILL');
          runner.record({ kind: 'killed', victim: worker.pid! });
        },
        killHolding: async (worker) => {
          const until = now() + 10_000;
          for (;;) {
            const last = lastLeaseEvent(worker);
            // Mid-work: a lease is held at least 4 writes of 40 ms or more, so one taken < 100 ms ago is still held.
            if ((last?.kind === 'acquire-ok' && now() - last.t < 100) || now() > until) break;
            await sleep(5);
          }
          worker.kill('SIGKILL');
          runner.record({ kind: 'killed', victim: worker.pid! });
        },
        tell: (worker, message) =>
          new Promise((ack, fail) => {
            const timer = setTimeout(() => fail(new Error(`worker ${worker.pid} did not ack ${message.type}`)), 5_000);
            const onMessage = (m: { type?: string; of?: string; nodeId?: string }): void => {
              if (m.type !== 'ack' || m.of !== message.type) return;
              clearTimeout(timer);
              worker.off('message', onMessage);
              ack(m.nodeId === undefined ? {} : { nodeId: m.nodeId });
            };
            worker.on('message', onMessage);
            worker.send(message);
          }),
        sleep,
      });
    } finally {
      clearInterval(keepRunning);
    }
    for (const proxy of [...proxies, ...subscriberProxies]) proxy.set({ kind: 'pass' });
    await Promise.all(workers.map((w) => (w.exitCode !== null || w.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => w.once('exit', () => r())))));
    // Let the last orphans expire and be recovered: TTL + two sweep periods.
    await sleep(scenario.ttlMs + 2 * (scenario.sweepIntervalMs ?? 500) + 500);
    const endOfRun = now();
    await Promise.all(managers.map((m) => m.stop()));

    const probe = new LockManager({ backend: (await side.connect()).backend, ttlMs: 1_000 });
    lockManagers.push(probe);
    const leasesLeft = (await probe.leases()).length;
    let stuckNodes = 0;
    for (const node of await store.list({ state: ['cleaning'] })) {
      const info = await probe.inspect(nodeResource(node.id));
      if (info.holder === null) stuckNodes++;
    }
    const report = check(readHistory(file), { endOfRun, expectRecovery: scenario.expectRecovery, lostAreOrphans: !scenario.forgetsOrphans });
    if (stuckNodes > 0) report.details.push(`${stuckNodes} node(s) left in "cleaning" with no live holder`);
    return { scenario: scenario.name, durationMs: now() - started, runMs, leasesLeft, stuckNodes, ...report };
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(lockManagers.map((l) => l.close().catch(() => undefined)));
    await Promise.all([...proxies, ...subscriberProxies].map((p) => p.stop()));
    for (const c of clients) c.disconnect();
    await side?.stop();
    await Promise.all([lockServer.stop(), storeServer.stop()]);
    // FAULTS_KEEP_HISTORY=<dir> keeps each run's merged history there, for a look at what the checker saw.
    const keep = process.env.FAULTS_KEEP_HISTORY;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      if (existsSync(file)) copyFileSync(file, join(keep, `${prefix}-${Date.now()}.jsonl`));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
