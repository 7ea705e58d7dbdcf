// Renders one run's results as BENCHMARKS.md.
import { CONTENDER_IDS, CONTENDER_INFO, PEER_IDS, RENEWAL_INFO, type ContenderId } from './contenders.js';
import type { MachineInfo } from './machine.js';
import type { Results, Target } from './targets.js';

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
  readonly contended: { readonly workers: number; readonly durationMs: number; readonly warmupMs: number; readonly holdMs: number; readonly repeats: number };
  readonly renewal: { readonly leases: number; readonly repeats: number };
  readonly memory: { readonly leases: number };
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
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const label = (id: ContenderId): string => CONTENDER_INFO[id].label;
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
      pingUs.map((us) => us.toFixed(1)).join(' / '),
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

function uncontendedSection({ results, config }: ReportInput): string {
  const c = config.uncontended;
  const tables = results.uncontended.flatMap((u) => {
    const raw = u.median.get('raw')!.opsPerSec;
    return [
      `### Concurrency ${u.concurrency}`,
      '',
      header(['contender', 'ops/s (median)', '× raw', 'repeats (ops/s)', 'client CPU µs/op', 'server CPU µs/op', 'server commands/op']),
      ...CONTENDER_IDS.map((id) => {
        const m = u.median.get(id)!;
        return row([
          label(id),
          int(m.opsPerSec),
          (m.opsPerSec / raw).toFixed(2),
          u.runs.get(id)!.map((r) => int(r.opsPerSec)).join(', '),
          m.clientCpuUs.toFixed(1),
          m.serverCpuUs.toFixed(1),
          m.serverCommands.toFixed(1),
        ]);
      }),
      '',
    ];
  });
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
    ...tables,
  ].join('\n').trimEnd();
}

function contendedSection({ results, config }: ReportInput): string {
  const c = config.contended;
  const lines = CONTENDER_IDS.map((id) => {
    const m = results.contended.median.get(id)!;
    const all = results.contended.runs.get(id)!;
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
    `${c.workers} workers in one process loop on acquire → critical section (hold ~${c.holdMs} ms) → release, for ` +
      `${c.durationMs / 1000} s, all on ONE resource. An in-process counter of workers inside the critical section ` +
      'must never exceed 1: an entry while another worker is inside is a violation. Critical sections/s counts entries ' +
      `before the deadline; median of ${c.repeats} runs (listed) after a ${c.warmupMs / 1000} s warm-up. Fairness: ` +
      "critical sections of the least and most served worker in the median run, and Jain's index (1 = perfectly even, " +
      `1/${c.workers} = one worker got everything). Retry settings per contender are listed under Method.`,
    '',
    header(['contender', 'CS/s (median)', 'runs', 'violations (all runs)', 'max inside', 'per worker min / max', "Jain's index"]),
    ...lines,
  ].join('\n');
}

function renewalSection({ results, config }: ReportInput): string {
  const ids: ContenderId[] = ['leasehold', ...PEER_IDS];
  const lines = ids.map((id) => {
    const m = results.renewal.median.get(id)!;
    const all = results.renewal.runs.get(id)!;
    return row([label(id), m.wallMs.toFixed(1), all.map((r) => r.wallMs.toFixed(1)).join(', '), int(m.clientRequests), int(m.serverScripts), int(m.serverCommands), `\`${m.breakdown}\``]);
  });
  return [
    `## 3. Renewing ${int(config.renewal.leases)} held leases`,
    '',
    'On a private server used only for this workload, leasehold (one LockManager) and each peer hold ' +
      `${int(config.renewal.leases)} leases at the same time. A round measures one leasehold heartbeat (wall time = the ` +
      "`durationMs` of the manager's `heartbeat` report), then, right after it and before the next beat, each peer " +
      'renewing every one of its locks with its own call, all issued at once (rotated order). One warm-up beat and ' +
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
    const m = results.memory.get(id)!;
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
  ].join('\n');
}

function methodSection(): string {
  return [
    '## Method and settings',
    '',
    'All contenders use a 10 s TTL and their own retry loop with a ~10 ms delay. Per contender:',
    '',
    ...CONTENDER_IDS.map((id) => `- **${label(id)}**: ${CONTENDER_INFO[id].settings}`),
    '',
    'Sources: bench/run.ts (orchestration, private servers), bench/contenders.ts (adapters), bench/raw-lock.ts (raw ' +
      'floor), bench/workloads/*.ts (one file per workload), bench/targets.ts, bench/report.ts.',
  ].join('\n');
}

export function renderReport(input: ReportInput): string {
  return [
    '# Benchmarks',
    '',
    `> Generated by \`npm run bench\` (bench/run.ts) on ${input.machine.date}. Do not edit by hand: rerun it.`,
    '',
    'leasehold against a raw `SET NX` floor and its peers (redis-semaphore, redlock, @sesamecare-oss/redlock), side by ' +
      'side in one run on private `redis-server` processes on loopback.',
    '',
    machineSection(input),
    '',
    targetsSection(input),
    '',
    uncontendedSection(input),
    '',
    contendedSection(input),
    '',
    renewalSection(input),
    '',
    memorySection(input),
    '',
    methodSection(),
    '',
  ].join('\n');
}
