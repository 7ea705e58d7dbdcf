// The run itself: enroll the nodes, fork the conductors, order operations for nine TTLs, apply the fault
// after three, let the running operations finish, stop the survivors cleanly. Every duration scales with the TTL.
import { isTransientState, type LockManager, type NodeStore } from 'leasehold';
import type { DemoOptions } from './cli-options.js';
import { Dispatcher } from './dispatcher.js';
import { injectFault, type FaultRecord } from './fault.js';
import { startFleet, type ConductorProcess } from './fleet.js';
import type { LiveSnapshot, LiveView } from './live-view.js';
import type { Report } from './protocol.js';
import { Random } from './random.js';
import type { Timeline } from './timeline.js';

export interface ScenarioContext {
  readonly options: DemoOptions;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly sweepMs: number;
  readonly store: NodeStore;
  /** The demo's own lock manager: it only reads (who holds what), never acquires. */
  readonly locks: LockManager;
  readonly timeline: Timeline;
  readonly live: LiveView;
  /** Called with the forked processes as soon as they exist, so Ctrl-C can stop them. */
  readonly started: (fleet: readonly ConductorProcess[]) => void;
}

export interface ScenarioResult {
  readonly nodeIds: readonly string[];
  readonly fleet: readonly ConductorProcess[];
  readonly dispatcher: Dispatcher;
  readonly fault: FaultRecord;
  readonly processFailures: readonly string[];
  readonly endedAt: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sleepUntil = (at: number): Promise<void> => sleep(Math.max(0, at - Date.now()));

async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!done() && Date.now() < until) await sleep(50);
  return done();
}

export async function runScenario(context: ScenarioContext): Promise<ScenarioResult> {
  const { options, store, locks, timeline, live, sweepMs } = context;
  const ttl = options.ttlMs;
  const width = String(options.nodes).length;
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => `node-${String(i + 1).padStart(Math.max(2, width), '0')}`);
  const drivers = Random.derive(options.seed, 'drivers');
  for (const id of nodeIds) {
    await store.create({ id, provisionState: 'enroll', driver: drivers.pick(['ipmi', 'redfish']) });
    timeline.enrolled(id, 'enroll', Date.now());
  }
  live.line(`enrolled ${nodeIds.length} nodes (${nodeIds[0]}..${nodeIds.at(-1)}) in a RedisNodeStore shared by every process`);

  let dispatcher: Dispatcher | null = null;
  const onReport = (report: Report): void => {
    timeline.ingest(report);
    if (report.type === 'op-done') dispatcher?.answered(report);
    describe(report, context, fault);
  };
  let fault: FaultRecord | null = null;
  const fleet = await startFleet(options.conductors, { redisUrl: context.redisUrl, prefix: context.prefix, ttlMs: ttl, sweepMs }, onReport, 30_000);
  context.started(fleet);
  live.line(`forked ${fleet.map((p) => `${p.id} (pid ${p.pid})`).join(', ')}: each runs a Conductor and a RecoveryManager`);
  const workers = new Dispatcher(store, fleet, ttl, options.seed);
  dispatcher = workers;

  // Who holds what, as Redis says (a dead conductor's leases stay until they expire), for the live view.
  let holders = new Map<string, string>();
  let dispatching = true;
  let ticking = true;
  const snapshot = (): LiveSnapshot => ({
    headline: `leasehold demo · ${((Date.now() - timeline.startedAt) / 1000).toFixed(1)} s · ttl ${ttl} ms · fault: ${faultText(fault, options)}${dispatching ? '' : ' · finishing'}`,
    conductors: fleet.map((p) => ({ id: p.id, status: p.status, held: [...holders.values()].filter((h) => h === p.id).length })),
    nodes: workers.nodes.map((n) => ({ id: n.id, state: n.provisionState, holder: holders.get(n.id) ?? null, operation: workers.inFlight.get(n.id)?.operation.name ?? null })),
  });
  const ticker = (async () => {
    while (ticking) {
      try {
        await workers.tick(dispatching);
        const leases = await locks.leases();
        holders = new Map(leases.filter((l) => l.resource.startsWith('node:')).map((l) => [l.resource.slice(5), l.holder.owner]));
      } catch (error) {
        live.line(`reading the node table failed: ${(error as Error).message}`);
      }
      live.update(snapshot());
      await sleep(100);
    }
  })();

  const begin = Date.now();
  await sleepUntil(begin + 3 * ttl);
  fault = await injectFault(options.fault, fleet, Random.derive(options.seed, 'fault'), { timeline, dispatcher: workers, ttlMs: ttl, sweepMs, log: (line) => live.line(line) });
  await sleepUntil(begin + 9 * ttl);
  dispatching = false;
  live.line('no new operations from now on: waiting for the running ones to finish');
  const settled = (): boolean => workers.inFlight.size === 0 && workers.nodes.every((n) => !isTransientState(n.provisionState));
  await waitFor(settled, 6 * ttl + sweepMs);

  const processFailures: string[] = [];
  const alive = fleet.filter((p) => p.alive);
  live.line(`stopping ${alive.map((p) => p.id).join(', ')} gracefully`);
  for (const p of alive) p.stop();
  const stopped = await Promise.race([Promise.all(fleet.map((p) => p.exited)).then(() => true), sleep(5 * ttl + 5_000).then(() => false)]);
  if (!stopped) {
    for (const p of fleet.filter((q) => q.alive)) {
      processFailures.push(`${p.id} did not stop within ${5 * ttl + 5_000} ms; killed`);
      p.kill();
    }
  }
  for (const p of fleet) if (p.status === 'crashed') processFailures.push(`${p.id} crashed${p.stderr ? `: ${p.stderr}` : ''}`);
  ticking = false;
  await ticker;
  return { nodeIds, fleet, dispatcher: workers, fault, processFailures, endedAt: Date.now() };
}

function faultText(fault: FaultRecord | null, options: DemoOptions): string {
  if (!fault) return `${options.fault} at about ${((3 * options.ttlMs) / 1000).toFixed(0)} s`;
  const what = { kill: 'killed', pause: fault.resumedAt ? 'paused, resumed' : 'paused', graceful: 'stopped' }[fault.kind];
  return `${fault.conductor} ${what}`;
}

/** The events worth a line of their own. */
function describe(report: Report, context: ScenarioContext, fault: FaultRecord | null): void {
  const { live, store, timeline } = context;
  switch (report.type) {
    case 'recovered': {
      const after = fault ? `, ${((report.wall - fault.at) / 1000).toFixed(2)} s after the ${fault.kind}` : '';
      live.line(`${report.nodeId}: ${report.from} -> ${report.to} by ${report.by} (${report.trigger}; orphan of ${report.previous.owner})${after}`);
      if (timeline.recoveries.length === 1) {
        void store.get(report.nodeId).then(
          (node) => node.lastError && live.line(`  its last_error: ${node.lastError}`),
          () => undefined,
        );
      }
      return;
    }
    case 'write':
      if (report.outcome === 'stale-fence') {
        live.line(`${report.conductor} wrote ${report.nodeId} -> ${report.to} with fence ${report.fence}: REFUSED, the store holds fence ${report.storedFence ?? '?'}`);
      }
      return;
    case 'lease-ended':
      if (report.how === 'lost') live.line(`${report.conductor} learned it lost ${report.resource} (fence ${report.fence}, ${report.reason ?? 'lost'})`);
      return;
    case 'op-done':
      if (report.outcome === 'failed') live.line(`${report.conductor}: ${report.nodeId} failed: ${report.detail ?? ''}`);
      return;
    case 'notice':
      live.line(`${report.conductor}: ${report.message}`);
      return;
    default:
      return;
  }
}
