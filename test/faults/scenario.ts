// Runs one fault scenario end to end: private lock and store Redis servers, worker processes (optionally behind
// fault proxies), recovery managers in this process, the fault, then the checker over the merged history.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { LockManager, RecoveryManager, RedisBackend, RedisNodeStore, nodeResource } from '../../src/index.js';
import { createRedisClient } from '../harness/clients.js';
import { RedisServer } from '../harness/redis-server.js';
import { check, type CheckReport } from './checker.js';
import { HistoryWriter, now, readHistory } from './history.js';
import { FaultProxy } from './proxy.js';

const root = resolve(import.meta.dirname, '../..');

/** What a scenario's fault step can reach. */
export interface FaultContext {
  readonly ttlMs: number;
  readonly lockServer: RedisServer;
  readonly workers: ChildProcess[];
  readonly proxies: FaultProxy[];
  readonly recovery: RecoveryManager[];
  /** Records a fault in the history. */
  fault(name: string, detail?: string): void;
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
  /** Put each worker behind its own fault proxy. */
  readonly proxies?: boolean;
  /** Workers that ignore their lease's signal and go on writing (so only the fence can stop them). */
  readonly careless?: boolean;
  /** Whether killed holders' orphans must be recovered (checked once / twice / never). */
  readonly expectRecovery: boolean;
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
  const [lockServer, storeServer] = await Promise.all([RedisServer.start({ args: scenario.serverArgs ?? [] }), RedisServer.start()]);
  const clients: Redis[] = [];
  const client = (server: RedisServer): Redis => {
    const c = createRedisClient(server, { maxRetriesPerRequest: 2 });
    clients.push(c);
    return c;
  };
  const proxies: FaultProxy[] = [];
  const workers: ChildProcess[] = [];
  const managers: RecoveryManager[] = [];
  const lockManagers: LockManager[] = [];
  try {
    const store = new RedisNodeStore(client(storeServer), { prefix });
    for (let i = 0; i < scenario.resources; i++) await store.create({ id: `r${i}`, provisionState: 'manageable' });

    for (let m = 0; m < scenario.recoveryManagers; m++) {
      const lockClient = client(lockServer);
      const locks = new LockManager({ backend: new RedisBackend(lockClient, { prefix }), ttlMs: scenario.ttlMs });
      locks.on('error', () => undefined);
      lockManagers.push(locks);
      const writer = new HistoryWriter(file, `recovery-${m}`);
      const manager = new RecoveryManager({ locks, nodes: store, subscriber: lockClient, sweepIntervalMs: scenario.sweepIntervalMs ?? 500 });
      manager.on('recovered', (e) =>
        writer.record({ kind: 'recovered', resource: nodeResource(e.nodeId), fence: e.fence, previousFence: e.previous.fence, to: e.to }),
      );
      // An orphan found in a stable state is recovered by clearing its record: it counts as its one recovery.
      manager.on('skipped', (e) => {
        if (e.reason === 'stable' && e.previous) writer.record({ kind: 'recovered', resource: nodeResource(e.nodeId), fence: 0, previousFence: e.previous.fence, to: 'unchanged' });
      });
      manager.on('error', () => undefined);
      managers.push(manager);
      await manager.start();
    }

    for (let w = 0; w < scenario.workers; w++) {
      let lockUrl = `redis://${lockServer.host}:${lockServer.port}`;
      if (scenario.proxies) {
        const proxy = await FaultProxy.start(lockServer);
        proxies.push(proxy);
        lockUrl = `redis://${proxy.host}:${proxy.port}`;
      }
      const child = fork(resolve(root, 'test/faults/worker.ts'), {
        cwd: root,
        execArgv: ['--import', 'tsx', '--import', './tools/lua-text.mjs'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: {
          ...process.env,
          LOCK_URL: lockUrl,
          STORE_URL: `redis://${storeServer.host}:${storeServer.port}`,
          PREFIX: prefix,
          WHO: `worker-${w}`,
          HISTORY: file,
          TTL_MS: String(scenario.ttlMs),
          RESOURCES: String(scenario.resources),
          DURATION_MS: String(runMs),
          IGNORE_SIGNAL: scenario.careless ? '1' : '0',
        },
      });
      workers.push(child);
    }

    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    await sleep(Math.min(1_500, runMs / 3));
    await scenario.inject({
      ttlMs: scenario.ttlMs,
      lockServer,
      workers,
      proxies,
      recovery: managers,
      fault: (name, detail) => runner.record({ kind: 'fault', name, ...(detail === undefined ? {} : { detail }) }),
      kill: (worker) => {
        worker.kill('SIGKILL');
        runner.record({ kind: 'killed', victim: worker.pid! });
      },
      killHolding: async (worker) => {
        const until = now() + 10_000;
        for (;;) {
          const own = readHistory(file).filter((e) => e.pid === worker.pid && (e.kind === 'acquire-ok' || e.kind === 'released' || e.kind === 'lost'));
          const last = own.at(-1);
          // Mid-work: a lease is held at least 4 writes of 40 ms or more, so one taken < 100 ms ago is still held.
          if ((last?.kind === 'acquire-ok' && now() - last.t < 100) || now() > until) break;
          await sleep(5);
        }
        worker.kill('SIGKILL');
        runner.record({ kind: 'killed', victim: worker.pid! });
      },
      sleep,
    });
    for (const proxy of proxies) proxy.set({ kind: 'pass' });
    await Promise.all(workers.map((w) => (w.exitCode !== null || w.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => w.once('exit', () => r())))));
    // Let the last orphans expire and be recovered: TTL + two sweep periods.
    await sleep(scenario.ttlMs + 2 * (scenario.sweepIntervalMs ?? 500) + 500);
    const endOfRun = now();
    await Promise.all(managers.map((m) => m.stop()));

    const probe = new LockManager({ backend: new RedisBackend(client(lockServer), { prefix }), ttlMs: 1_000 });
    lockManagers.push(probe);
    const leasesLeft = (await probe.leases()).length;
    let stuckNodes = 0;
    for (const node of await store.list({ state: ['cleaning'] })) {
      const info = await probe.inspect(nodeResource(node.id));
      if (info.holder === null) stuckNodes++;
    }
    const report = check(readHistory(file), { endOfRun, expectRecovery: scenario.expectRecovery });
    if (stuckNodes > 0) report.details.push(`${stuckNodes} node(s) left in "cleaning" with no live holder`);
    return { scenario: scenario.name, durationMs: now() - started, leasesLeft, stuckNodes, ...report };
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(lockManagers.map((l) => l.close().catch(() => undefined)));
    await Promise.all(proxies.map((p) => p.stop()));
    for (const c of clients) c.disconnect();
    await Promise.all([lockServer.stop(), storeServer.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
