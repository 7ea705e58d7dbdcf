// Renders one run's results as BENCHMARKS.md.
import {
  CONTENDER_IDS,
  CONTENDER_INFO,
  PEER_IDS,
  QUORUM_CONTENDER_IDS,
  QUORUM_CONTENDER_INFO,
  REFERENCE_IDS,
  REFERENCE_INFO,
  RENEWAL_INFO,
  TTL_MS,
  type AnyContenderId,
  type ContenderId,
  type ReferenceId,
} from './contenders.js';
import type { MachineInfo } from './machine.js';
import { percentile } from './stats.js';
import {
  LATENCY_SLACK_MS,
  SCALE_BEAT_WALL_MS,
  SCALE_REQUESTS_PER_MASTER_PER_1000,
  latencySummary,
  relativeToTtl,
  requestsPerMasterPer1000,
  type Results,
  type Target,
} from './targets.js';
import { RECOVERY_STEPS, type MassOrphanRun } from './workloads/mass-orphan.js';
import type { RecoveryLatencyResult } from './workloads/recovery-latency.js';
import type { UncontendedResult } from './workloads/uncontended.js';

/** The workload parameters of the run, printed with the results. */
export interface BenchConfig {
  readonly uncontended: {
    readonly concurrencies: readonly number[];
    readonly durationMs: number;
    readonly sliceMs: number;
    readonly warmupMs: number;
    readonly repeats: number;
    readonly resourcesPerWorker: number;
  };
  readonly contended: { readonly workers: number; readonly durationMs: number; readonly sliceMs: number; readonly warmupMs: number; readonly holdMs: number; readonly repeats: number };
  readonly renewal: { readonly leases: number; readonly repeats: number };
  readonly memory: { readonly leases: number };
  readonly recoveryLatency: {
    /** SIGKILLs per variant. */
    readonly rounds: number;
    /** Conductor processes started, killed and awaited together. */
    readonly lanes: number;
    readonly ttlMs: number;
    /** Sweep period while expiry events are heard (long: sweeps stay out of the way). */
    readonly eventsSweepIntervalMs: number;
    /** Sweep period when events are dropped. */
    readonly sweepIntervalMs: number;
  };
  readonly massOrphan: {
    readonly nodes: number;
    readonly ttlMs: number;
    readonly reserveConcurrency: number;
    /** Recovery concurrencies with expiry events heard (default sweep period), each run `repeats` times. */
    readonly concurrencies: readonly number[];
    readonly repeats: number;
    /** One more run with events dropped: sweeps only. */
    readonly sweepOnly: { readonly concurrency: number; readonly sweepIntervalMs: number };
  };
  readonly heartbeatScale: {
    readonly leaseCounts: readonly number[];
    /** Beats measured per lease count. */
    readonly repeats: number;
    readonly acquireConcurrency: number;
  };
  /** Workload 8 runs workload 1's procedure on three masters, with these settings. */
  readonly quorum: {
    readonly concurrencies: readonly number[];
    readonly durationMs: number;
    readonly sliceMs: number;
    readonly warmupMs: number;
    readonly repeats: number;
    readonly resourcesPerWorker: number;
  };
}

export interface ReportInput {
  readonly machine: MachineInfo;
  readonly loadAtEnd: number;
  /** Median loopback PING round trip to the main server before workload 1 and after workload 2, µs. */
  readonly pingUs: readonly number[];
  readonly elapsedS: number;
  readonly config: BenchConfig;
  readonly results: Results;
  readonly targets: readonly Target[];
  /** The workloads run, when `--only` picked some; `null` for a full run. */
  readonly partial: readonly string[] | null;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const TTL_LABEL = `${TTL_MS / 1000} s`;
const label = (id: ContenderId): string => CONTENDER_INFO[id].label;
const labelOrReference = (id: ContenderId | ReferenceId): string => (id in REFERENCE_INFO ? REFERENCE_INFO[id as ReferenceId].label : label(id as ContenderId));
const row = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;
const header = (cells: readonly string[]): string => `${row(cells)}\n${row(cells.map(() => '---'))}`;

function machineSection({ machine, loadAtEnd, pingUs, elapsedS }: ReportInput): string {
  const packages = [...machine.packages].map(([name, version]) => `${name} ${version}`).join(', ');
  return [
    '## Machine',
    '',
    header(['CPU', 'cores', 'Node', 'redis-server', 'date (UTC)', 'load avg (1 min) start / end', 'PING round trip µs (median) start / end', 'run time']),
    row([
      machine.cpu,
      machine.cores,
      machine.node,
      machine.redisServer,
      machine.date,
      `${machine.loadAtStart.toFixed(2)} / ${loadAtEnd.toFixed(2)}`,
      pingUs.length === 0 ? '–' : pingUs.map((us) => us.toFixed(1)).join(' / '),
      `${elapsedS.toFixed(0)} s`,
    ]),
    '',
    `Packages: ${packages}.`,
    '',
    'The benchmark process (Node) and redis-server share the machine\'s cores (and with whatever else runs on it: see the load ' +
      'average). At concurrency 1 every operation waits for round trips, so absolute numbers follow the loopback round trip ' +
      '(PING column), which varies with the machine\'s load; compare contenders by their ratios, measured side by side in ' +
      'this one run on the same server.',
  ].join('\n');
}

function targetsSection({ targets }: ReportInput): string {
  const met = targets.filter((t) => t.met).length;
  return [
    '## Targets',
    '',
    `${met} of ${targets.length} met.`,
    '',
    header(['target', 'goal', 'measured', 'met']),
    ...targets.map((t) => row([t.name, t.goal, t.measured, t.met ? 'met' : '**not met**'])),
  ].join('\n');
}

/**
 * One table per concurrency of an acquire+release throughput workload: ops/s, the ratio to `base`, the repeats,
 * client and server CPU and server commands per op. `columns` names the ratio and the two server columns.
 */
function throughputTables<Id extends AnyContenderId>(
  measured: readonly UncontendedResult[],
  ids: readonly Id[],
  labelOf: (id: Id) => string,
  base: Id,
  columns: readonly [ratio: string, serverCpu: string, serverCommands: string],
): string[] {
  return measured.flatMap((u) => {
    const baseline = u.median.get(base)!.opsPerSec;
    return [
      `### Concurrency ${u.concurrency}`,
      '',
      header(['contender', 'ops/s (median)', columns[0], 'repeats (ops/s)', 'client CPU µs/op', columns[1], columns[2]]),
      ...ids.map((id) => {
        const m = u.median.get(id)!;
        return row([
          labelOf(id),
          int(m.opsPerSec),
          (m.opsPerSec / baseline).toFixed(2),
          u.runs.get(id)!.map((r) => int(r.opsPerSec)).join(', '),
          m.clientCpuUs.toFixed(1),
          m.serverCpuUs.toFixed(1),
          m.serverCommands.toFixed(1),
        ]);
      }),
      '',
    ];
  });
}

function uncontendedSection({ results, config }: ReportInput): string {
  const c = config.uncontended;
  const tables = throughputTables(results.uncontended!, [...CONTENDER_IDS, ...REFERENCE_IDS], labelOrReference, 'raw', ['× raw', 'server CPU µs/op', 'server commands/op']);
  return [
    '## 1. Uncontended acquire + release',
    '',
    `Each worker acquires and releases its own resources back to back (worker w cycles through ${c.resourcesPerWorker} ` +
      `resources of its own, so no two workers ever want the same one). Each contender on its own client and key ` +
      `prefix, on one private server, after a ${c.warmupMs / 1000} s warm-up. A repeat gives each contender ` +
      `${c.durationMs / 1000} s in slices of ${c.sliceMs} ms, contenders taking turns (rotated order), so background ` +
      `load hits all of them alike; median of ${c.repeats} repeats (listed). ` +
      'Client CPU = user + system time of the benchmark process per acquire+release; server CPU = `used_cpu_user + ' +
      'used_cpu_sys` of redis-server (INFO cpu) per acquire+release; server commands = `INFO commandstats` delta per ' +
      'acquire+release, commands run inside scripts included.',
    '',
    'Writes: leasehold batches its own writes on its connection (Nagle-style: while one of its calls awaits a reply, ' +
      'the next ones leave together, at the end of the event-loop turn or every 8 calls; README, Topologies). The raw ' +
      'floor and the peers write each command as it is made, as their users call them. At concurrency 64 that batching ' +
      'is most of leasehold\'s lead; the last row, the raw floor on a client with `enableAutoPipelining` (a reference, ' +
      'not a target), shows what batching alone buys a bare lock.',
    '',
    ...tables,
    ...serialCostNote(results.uncontended!),
  ].join('\n').trimEnd();
}

/**
 * At concurrency 1 nothing overlaps: each cycle is the client's work, the server's work and the round trips, one
 * after the other. Sets leasehold's extra time per cycle next to its extra CPU per cycle, from the same medians.
 */
function serialCostNote(measured: readonly UncontendedResult[]): string[] {
  const serial = measured.find((u) => u.concurrency === 1);
  const ours = serial?.median.get('leasehold');
  const raw = serial?.median.get('raw');
  if (!ours || !raw) return [];
  const cycle = (opsPerSec: number): number => 1e6 / opsPerSec;
  const extraTime = cycle(ours.opsPerSec) - cycle(raw.opsPerSec);
  const extraClient = ours.clientCpuUs - raw.clientCpuUs;
  const extraServer = ours.serverCpuUs - raw.serverCpuUs;
  const signed = (us: number): string => `${us >= 0 ? '+' : '−'}${Math.abs(us).toFixed(1)} µs`;
  return [
    `Where concurrency 1's gap goes (medians above): a leasehold acquire+release cycle takes ${cycle(ours.opsPerSec).toFixed(1)} µs, ` +
      `the raw floor's ${cycle(raw.opsPerSec).toFixed(1)} µs (${signed(extraTime)}); per cycle leasehold uses ${signed(extraClient)} of ` +
      `client CPU and ${signed(extraServer)} of server CPU (${signed(extraClient + extraServer)} together). Both make the same two ` +
      `round trips; the server's extra work is the fence, the holder record and the orphan index the acquire and release ` +
      `scripts keep (${ours.serverCommands.toFixed(0)} server commands per cycle against ${raw.serverCommands.toFixed(0)}).`,
    '',
  ];
}

function contendedSection({ results, config }: ReportInput): string {
  const c = config.contended;
  const lines = CONTENDER_IDS.map((id) => {
    const m = results.contended!.median.get(id)!;
    const all = results.contended!.runs.get(id)!;
    const violations = all.reduce((sum, r) => sum + r.violations, 0);
    const maxInside = Math.max(...all.map((r) => r.maxInside));
    return row([
      label(id),
      m.rate.toFixed(1),
      all.map((r) => r.rate.toFixed(1)).join(', '),
      violations,
      maxInside,
      `${Math.min(...m.perWorker)} / ${Math.max(...m.perWorker)}`,
      m.jain.toFixed(3),
    ]);
  });
  return [
    '## 2. Contended: 16 workers, one resource',
    '',
    `${c.workers} workers in one process loop on acquire → critical section (hold ~${c.holdMs} ms) → release, all on ` +
      `ONE resource. A run gives each contender ${c.durationMs / 1000} s in slices of ${c.sliceMs} ms, contenders taking ` +
      'turns (order rotated every slice), so background load hits all of them alike. An in-process counter of workers ' +
      'inside the critical section must never exceed 1: an entry while another worker is inside is a violation. ' +
      'Critical sections/s counts entries before each slice ends, over the run; ' +
      `median of ${c.repeats} runs (listed) after a ${c.warmupMs / 1000} s warm-up. Fairness: ` +
      "critical sections of the least and most served worker in the median run, and Jain's index (1 = perfectly even, " +
      `1/${c.workers} = one worker got everything). Retry settings per contender are listed under Method.`,
    '',
    'All workers share one client (and, for leasehold, one LockManager), as threads of one conductor would. The peers ' +
      "poll on their retry delay. leasehold's workers wait inside their manager while one of them holds the resource, " +
      'and each release hands the resource to the next in line in one script call (README, Topologies: waiting); with ' +
      'no waiter in another process, it is never left free in between. Workers in separate processes poll, as the peers do.',
    '',
    header(['contender', 'CS/s (median)', 'runs', 'violations (all runs)', 'max inside', 'per worker min / max', "Jain's index"]),
    ...lines,
  ].join('\n');
}

function renewalSection({ results, config }: ReportInput): string {
  const ids: ContenderId[] = ['leasehold', ...PEER_IDS];
  const lines = ids.map((id) => {
    const m = results.renewal!.median.get(id)!;
    const all = results.renewal!.runs.get(id)!;
    return row([label(id), m.wallMs.toFixed(1), all.map((r) => r.wallMs.toFixed(1)).join(', '), int(m.clientRequests), int(m.serverScripts), int(m.serverCommands), `\`${m.breakdown}\``]);
  });
  return [
    `## 3. Renewing ${int(config.renewal.leases)} held leases`,
    '',
    'On a private server used only for this workload, leasehold (one LockManager) and each peer hold ' +
      `${int(config.renewal.leases)} leases at the same time. A round measures one leasehold heartbeat (wall time = the ` +
      "`durationMs` of the manager's `heartbeat` report), then, right after it and before the next beat, each peer " +
      'renewing every one of its locks with its own call, all issued at once (rotated order). Before each contender ' +
      "is measured, a full garbage collection (node --expose-gc) clears what the others left, so each pays only for " +
      'its own garbage. One warm-up beat and ' +
      `round first; median of ${config.renewal.repeats} rounds (listed). Client requests = commands the ioredis client ` +
      'sent (counted on the client, pipelined ones included); server script calls = ' +
      '`EVALSHA` + `EVAL` in the `INFO commandstats` delta; server commands = every command in that delta, including ' +
      'those run inside scripts (the measuring `INFO` excluded).',
    '',
    header(['contender', 'wall ms (median)', 'runs', 'client requests', 'server script calls', 'server commands', 'server commands by name']),
    ...lines,
    '',
    'How each renews:',
    '',
    '- leasehold: one heartbeat of the manager, which renews all of its leases in a batch (see the client requests column).',
    ...PEER_IDS.map((id) => `- ${label(id)}: ${RENEWAL_INFO[id]}.`),
  ].join('\n');
}

function memorySection({ results, config }: ReportInput): string {
  const lines = CONTENDER_IDS.map((id) => {
    const m = results.memory!.get(id)!;
    return row([label(id), int(m.before), int(m.after), m.perLease.toFixed(1), m.breakdown]);
  });
  return [
    '## 4. Redis memory per held lease',
    '',
    `A fresh private server per contender: warm-up (scripts loaded), \`FLUSHALL\`, \`used_memory\` before, then ` +
      `${int(config.memory.leases)} leases acquired and held, \`used_memory\` after; per lease = difference / ` +
      `${int(config.memory.leases)}. The breakdown sums \`MEMORY USAGE <key> SAMPLES 0\` by key type (it leaves out ` +
      'the expires-dict entry of keys with a TTL, so it is a bit below the used_memory difference).',
    '',
    header(['contender', 'used_memory before', 'used_memory after', 'bytes per lease', 'keys by type (MEMORY USAGE)']),
    ...lines,
    ...(results.heartbeatScale ? ['', 'The same figure on a Cluster (its masters together) is in section 7.'] : []),
  ].join('\n');
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '∞');
const triple = (values: readonly number[]): string =>
  values.length === 0 ? '–' : `${ms(percentile(values, 50))} / ${ms(percentile(values, 99))} / ${ms(Math.max(...values))}`;

function latencyRow(result: RecoveryLatencyResult): string {
  const { kills, p50, p99, max } = latencySummary(result);
  const triggers = new Map<string, number>();
  for (const s of result.samples) triggers.set(s.trigger, (triggers.get(s.trigger) ?? 0) + 1);
  const toExpiry = result.samples.map((s) => s.killToExpiryMs);
  const notify = result.notifyKeyspaceEvents === '' ? 'empty' : `\`${result.notifyKeyspaceEvents}\``;
  return row([
    result.variant === 'events'
      ? `expiry events heard (subscriber on; notify-keyspace-events ${notify})`
      : `expiry events dropped (no subscriber; notify-keyspace-events ${notify})`,
    kills,
    `${result.ttlMs} / ${result.heartbeatMs} / ${result.sweepIntervalMs.toLocaleString('en-US')}`,
    triple(result.samples.map((s) => s.killToFailedMs)),
    `${relativeToTtl(p50, result.ttlMs)} / ${Number.isFinite(p99) ? relativeToTtl(p99, result.ttlMs) : '∞'} / ${relativeToTtl(max, result.ttlMs)}`,
    triple(result.samples.map((s) => s.expiryToFailedMs)),
    toExpiry.length === 0 ? '–' : `${ms(Math.min(...toExpiry))} / ${ms(Math.max(...toExpiry))}`,
    [...triggers].map(([trigger, n]) => `${trigger} ${n}`).join(', '),
    `${result.unrecovered.length} / ${result.duplicates} / ${result.wrongState}`,
  ]);
}

function recoveryLatencySection({ results, config }: ReportInput): string {
  const c = config.recoveryLatency;
  const events = results.recoveryLatency!.find((r) => r.variant === 'events');
  const heartbeat = events?.heartbeatMs ?? Math.round(c.ttlMs / 3);
  return [
    '## 5. Recovery latency after SIGKILL',
    '',
    `${c.rounds} SIGKILLs per variant, each of a real conductor process (bench/conductor-child.ts: a \`Conductor\` on a ` +
      `\`LockManager\` with TTL ${c.ttlMs} ms, heartbeat every ${heartbeat} ms, a \`RedisNodeStore\` and a registry, on a private ` +
      'server of the variant). Each process reserves one node with `Conductor.reserve` and moves it to `deploying`; after a ' +
      `random 1–2 heartbeat periods (so the kill lands at a uniformly random point of the heartbeat cycle) the parent sends ` +
      'SIGKILL. A `RecoveryManager` in the parent (default concurrency, its own `LockManager` with the same TTL) moves the ' +
      'node to `deploy failed`. **Kill → failed**: from the SIGKILL to the `recovered` event (the parent\'s monotonic clock). ' +
      'The last heartbeat before the kill set the lease\'s deadline, so at the kill the lease has between TTL − heartbeat and ' +
      'TTL left (**kill → expiry**: the deadline in Redis, `RecoveredEvent.previous.expiredAt`, minus the kill time; both ' +
      'clocks are this machine\'s), hence kill → failed ≤ TTL + delta with delta = **expiry → failed** ' +
      '(`RecoveredEvent.latencyMs`: from the deadline to the write of the failed state). ' +
      `Processes run in batches of ${c.lanes}: started, and their nodes reserved, together before any of them is killed, ` +
      'so no process start-up overlaps a recovery; each is then killed at its own random moment. Percentiles are nearest ' +
      'rank: with fewer than 100 kills, p99 is the largest value. "Found by": the trigger of each recovery (an `expired` ' +
      'keyspace event, or a periodic sweep). Redis publishes `expired` when its active expiry cycle (10 times a ' +
      'second at the default `hz 10`) or an access deletes the key, so an event comes up to about 100 ms after the deadline.',
    '',
    `- **Expiry events heard**: the manager subscribes to \`expired\` events (it enables notify-keyspace-events); sweeps ` +
      `every ${c.eventsSweepIntervalMs.toLocaleString('en-US')} ms, so none finds these orphans. ` +
      `Target: p99 ≤ TTL + ${LATENCY_SLACK_MS} ms.`,
    `- **Expiry events dropped**: no subscriber, and the server publishes none; only the sweep, every ` +
      `${c.sweepIntervalMs.toLocaleString('en-US')} ms, finds orphans. Target: p99 ≤ TTL + sweep period + ${LATENCY_SLACK_MS} ms.`,
    '',
    header([
      'variant',
      'kills',
      'TTL / heartbeat / sweep ms',
      'kill → failed ms p50 / p99 / max',
      'kill → failed as TTL + delta (p50 / p99 / max)',
      'expiry → failed ms p50 / p99 / max',
      'kill → expiry ms min / max',
      'found by',
      'unrecovered / recovered twice / not in deploy failed',
    ]),
    ...results.recoveryLatency!.map(latencyRow),
    '',
    'For scale (reference periods, not measured here): Ironic counts a conductor dead once it missed heartbeats for ' +
      '`[conductor] heartbeat_timeout` (60 s by default) and fails the nodes it was deploying in its periodic ' +
      '`_check_deploying_status` task, every `[conductor] check_provision_state_interval` (60 s): up to about 60 s + 60 s ' +
      'after the crash. BullMQ finds the jobs of a dead worker with its stalled-jobs check, which runs every ' +
      '`stalledInterval` (30 s by default).',
  ].join('\n');
}

function massRow(run: MassOrphanRun, index: number): string {
  const step = (name: (typeof RECOVERY_STEPS)[number]): string => {
    const t = run.steps[name];
    return t.calls === 0 ? '–' : (t.totalMs / t.calls).toFixed(2);
  };
  return row([
    index + 1,
    run.events ? 'heard' : `dropped (sweep every ${run.sweepIntervalMs} ms)`,
    run.concurrency,
    `${int(run.recovered)} of ${int(run.nodes)}${run.inFailedState === run.nodes ? '' : ` (${int(run.inFailedState)} in deploy failed)`}${run.duplicates > 0 ? `, ${run.duplicates} twice` : ''}`,
    ms(run.firstFailedMs),
    `**${ms(run.allFailedMs)}**`,
    int(run.perSecond),
    run.lastEventMs === null ? '–' : ms(run.lastEventMs),
    run.sweeps,
    run.clientRequestsPerOrphan.toFixed(2),
    run.serverCommandsPerOrphan.toFixed(1),
    ((run.clientCpuMs * 1000) / run.nodes).toFixed(0),
    ((run.serverCpuMs * 1000) / run.nodes).toFixed(0),
    `${((100 * run.clientCpuMs) / Math.max(1, run.allFailedMs)).toFixed(0)} / ${((100 * run.serverCpuMs) / Math.max(1, run.allFailedMs)).toFixed(0)}`,
    RECOVERY_STEPS.map(step).join(' / '),
  ]);
}

function massOrphanSection({ results, config }: ReportInput): string {
  const c = config.massOrphan;
  const runs = results.massOrphan!;
  const first = runs[0];
  const sweepOnly = runs.find((r) => !r.events);
  const breakdowns = [first, sweepOnly].filter((r): r is MassOrphanRun => r !== undefined);
  return [
    `## 6. Mass orphaning: one conductor holding ${int(c.nodes)} nodes dies`,
    '',
    `One conductor process (bench/conductor-child.ts, TTL ${c.ttlMs} ms) reserves ${int(c.nodes)} nodes with ` +
      `\`Conductor.reserve\` (${c.reserveConcurrency} at once) and moves each to \`deploying\` with a fenced write ` +
      `(${runs.map((r) => (r.reserveMs / 1000).toFixed(1)).join(', ')} s per run); its \`LockManager\` heartbeats all of them. ` +
      'Once one heartbeat has renewed every lease in one batch (so every deadline comes from that beat: they lie ' +
      `within ${ms(Math.max(...runs.map((r) => r.expirySpreadMs)))} ms of each other), it is SIGKILLed at a random point ` +
      'of the next heartbeat period. One `RecoveryManager` in the parent fails the nodes; each run has a fresh private ' +
      `server (${runs.map((r) => int(r.keys)).join(', ')} keys at the kill). **All failed**: from the first lease ` +
      'deadline (Redis clock) to the last node\'s `recovered` event (this machine\'s clock), the target figure. ' +
      `Runs with expiry events heard use the default sweep period (${int(runs.find((r) => r.events)?.sweepIntervalMs ?? 0)} ms); ` +
      `concurrency ${results.defaultRecoveryConcurrency} is the default, the others are tried for comparison; ` +
      `${c.repeats} run${c.repeats === 1 ? '' : 's'} each, interleaved.` +
      (sweepOnly ? ` The last run drops expiry events: only sweeps find the orphans.` : ''),
    '',
    'Where the time goes: each orphan costs four requests in a row (the acquire script as `recovery:<id>`, `HMGET` of ' +
      'the node, the fenced transition script, the release script), plus whatever the sweeps read. Requests are counted on ' +
      'the parent\'s client (the subscriber connection not included), server commands are the `INFO commandstats` delta ' +
      '(commands inside scripts included), CPU is the parent process\'s and redis-server\'s user + system time from the ' +
      'SIGKILL to the last recovery (idle until the first expiry); busy = that CPU time as a share of the all-failed time ' +
      '(100 % = one core). Mean in flight: the average time one call of each step took, measured by wrapping the ' +
      'backend\'s `acquire`/`release` and the store\'s `get`/`transition` (queueing in the client included). "Last ' +
      'expired event": when a subscriber of our own heard Redis publish the last node lock\'s `expired` event, from the ' +
      'first deadline: Redis deletes expired keys in its active expiry cycle (10 times a second).',
    '',
    header([
      'run',
      'expiry events',
      'concurrency',
      'nodes failed',
      'first failed ms after first expiry',
      'all failed ms after first expiry',
      'nodes/s',
      'last expired event ms',
      'sweeps meanwhile',
      'client requests / orphan',
      'server commands / orphan',
      'client CPU µs / orphan',
      'server CPU µs / orphan',
      'busy % client / server',
      'mean in flight ms: acquire / get / transition / release',
    ]),
    ...runs.map(massRow),
    '',
    'Server commands per orphan, by name:',
    '',
    ...breakdowns.map((r) => `- run ${runs.indexOf(r) + 1} (${r.events ? 'events heard' : 'events dropped'}, concurrency ${r.concurrency}): \`${r.serverBreakdown}\``),
  ].join('\n');
}

function heartbeatScaleSection({ results, config }: ReportInput): string {
  const result = results.heartbeatScale!;
  const h = config.heartbeatScale;
  const masters = result.masters.length;
  const lines = result.runs.map((run) => {
    const m = run.median;
    const commands = m.commandsPerMaster.reduce((a, b) => a + b, 0);
    return row([
      int(run.leases),
      `${(run.acquireMs / 1000).toFixed(1)} s (${int(run.leases / (run.acquireMs / 1000))}/s)`,
      `**${m.wallMs.toFixed(1)}**`,
      run.beats.map((b) => b.wallMs.toFixed(0)).join(', '),
      int(m.clientRequests),
      m.scriptsPerMaster.map(int).join(' / '),
      `**${requestsPerMasterPer1000(run).toFixed(2)}**`,
      int(commands),
      (commands / run.leases).toFixed(2),
      m.clientCpuMs.toFixed(0),
      m.serverCpuMs.toFixed(0),
      run.keysPerMaster.map(int).join(' / '),
      run.bytesPerLease.toFixed(0),
    ]);
  });
  const largest = result.runs.reduce((a, b) => (b.leases > a.leases ? b : a));
  return [
    `## 7. Heartbeat cost vs lease count on a Cluster (${masters} masters)`,
    '',
    `A private Redis Cluster (test/harness/redis-cluster.ts: ${masters} masters + ${result.replicas} replicas on loopback; ` +
      `masters ${result.masters.join(', ')}). One \`LockManager\` (TTL ${TTL_LABEL}, heartbeat every TTL / 3, defaults otherwise) on a ` +
      '`RedisBackend` (default shards) over an ioredis `Cluster` client holds N leases, taken one `acquire` at a time, ' +
      `${h.acquireConcurrency} at once (the "take N" column). After a warm-up beat, ${h.repeats} heartbeats are measured; the ` +
      'row is the beat with the median wall time (all wall times listed). Wall = the heartbeat report\'s `durationMs`. Client ' +
      'requests = commands the Cluster client sent during the beat; script calls per master = `EVALSHA` + `EVAL` in that ' +
      'master\'s own `INFO commandstats` delta (read over a direct connection), the requests each master got; per 1,000 ' +
      'leases = the busiest master\'s script calls / (N / 1,000). Server commands = every command the masters ran, those ' +
      'inside scripts included, without the cluster\'s own chatter (`replconf`, `cluster|*`, `ping`). Client CPU = this ' +
      'process\'s user + system time from just before the beat to its report (the process does nothing else meanwhile); server ' +
      'CPU = the masters\' `used_cpu_user + used_cpu_sys` during the beat. Memory per lease = the masters\' `used_memory` − `mem_replication_backlog` − ' +
      '`mem_clients_slaves` − `mem_clients_normal` while holding the N leases, minus the same after `FLUSHALL` before taking them, over N (the ' +
      'replicas hold a copy each, not counted). The cluster is flushed between lease counts. ' +
      `Targets for ${int(largest.leases)} leases: ≤ ${SCALE_BEAT_WALL_MS} ms wall per beat and ≤ ${SCALE_REQUESTS_PER_MASTER_PER_1000} ` +
      'request per master per 1,000 leases.',
    '',
    header([
      'leases',
      'take N (one acquire each)',
      'beat wall ms (median)',
      'beats ms',
      'client requests',
      'script calls per master',
      'busiest master: requests per 1,000 leases',
      'server commands',
      'server commands per lease',
      'client CPU ms',
      'server CPU ms',
      'keys per master',
      'memory B per lease',
    ]),
    ...lines,
    '',
    'Server commands by name in the median beat:',
    '',
    ...result.runs.map((run) => `- ${int(run.leases)} leases: \`${run.median.breakdown}\``),
    '',
    'Leases per master (by their shard\'s hash tag): ' + result.runs.map((run) => `${int(run.leases)}: ${run.leasesPerMaster.map(int).join(' / ')}`).join('; ') + '.',
  ].join('\n');
}

function quorumSection({ results, config }: ReportInput): string {
  const c = config.quorum;
  const labelOf = (id: (typeof QUORUM_CONTENDER_IDS)[number]): string => QUORUM_CONTENDER_INFO[id].label;
  const tables = throughputTables(results.quorum!, QUORUM_CONTENDER_IDS, labelOf, 'leasehold-quorum', [
    '× leasehold',
    'server CPU µs/op (3 masters)',
    'server commands/op (3 masters)',
  ]);
  return [
    '## 8. Quorum mode: three independent masters',
    '',
    'Three private standalone redis-servers (independent masters, no replication between them). Each contender has its own ' +
      'client per master and its own key prefix; workload 1\'s procedure: each worker acquires and releases its own resources ' +
      `back to back (${c.resourcesPerWorker} per worker), after a ${c.warmupMs / 1000} s warm-up; a repeat gives each contender ` +
      `${c.durationMs / 1000} s in slices of ${c.sliceMs} ms, contenders taking turns (rotated order); median of ${c.repeats} ` +
      'repeats. Server CPU and commands are summed over the three masters. Settings per contender are under Method.',
    '',
    ...tables,
  ].join('\n').trimEnd();
}

function methodSection({ results }: ReportInput): string {
  return [
    '## Method and settings',
    '',
    'All contenders use a 10 s TTL and their own retry loop with a ~10 ms delay. Per contender:',
    '',
    ...CONTENDER_IDS.map((id) => `- **${label(id)}**: ${CONTENDER_INFO[id].settings}`),
    ...REFERENCE_IDS.map((id) => `- **${REFERENCE_INFO[id].label}** (section 1 only): ${REFERENCE_INFO[id].settings}`),
    ...(results.quorum
      ? ['', 'Quorum mode (section 8), over three masters m1, m2, m3:', '', ...QUORUM_CONTENDER_IDS.map((id) => `- **${QUORUM_CONTENDER_INFO[id].label}**: ${QUORUM_CONTENDER_INFO[id].settings}`)]
      : []),
    '',
    'Sections 5 and 6 measure leasehold alone (no peer has conductors or recovery): real conductor processes ' +
      '(bench/conductor-child.ts, driven by bench/conductor-process.ts) killed with SIGKILL, on private servers.',
    '',
    'Sources: bench/run.ts (orchestration, private servers), bench/contenders.ts (adapters), bench/raw-lock.ts (raw ' +
      'floor), bench/workloads/*.ts (one file per workload), bench/conductor-child.ts and bench/conductor-process.ts ' +
      '(the conductor processes), bench/cluster.ts (the private Cluster and its per-master INFO), bench/targets.ts, bench/report.ts.',
  ].join('\n');
}

export function renderReport(input: ReportInput): string {
  const { results } = input;
  const sections: string[] = [machineSection(input), targetsSection(input)];
  if (results.uncontended) sections.push(uncontendedSection(input));
  if (results.contended) sections.push(contendedSection(input));
  if (results.renewal) sections.push(renewalSection(input));
  if (results.memory) sections.push(memorySection(input));
  if (results.recoveryLatency) sections.push(recoveryLatencySection(input));
  if (results.massOrphan) sections.push(massOrphanSection(input));
  if (results.heartbeatScale) sections.push(heartbeatScaleSection(input));
  if (results.quorum) sections.push(quorumSection(input));
  sections.push(methodSection(input));
  return [
    '# Benchmarks',
    '',
    `> Generated by \`npm run bench\` (bench/run.ts) on ${input.machine.date}. Do not edit by hand: rerun it.`,
    ...(input.partial
      ? ['', `> **Partial run** (\`--only ${input.partial.join(',')}\`): only these workloads and their targets. Not a BENCHMARKS.md.`]
      : []),
    '',
    'leasehold against a raw `SET NX` floor and its peers (redis-semaphore, redlock, @sesamecare-oss/redlock), side by ' +
      'side in one run on private `redis-server` processes on loopback; on a private Redis Cluster as the lease count grows; ' +
      'and in quorum mode against the Redlock implementations.',
    '',
    sections.join('\n\n'),
    '',
  ].join('\n');
}
