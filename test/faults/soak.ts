// `npm run soak`: every fault scenario in long mode, several runs each, and RELIABILITY.md written from what was
// measured. Env: SOAK_MS (run length per scenario run, default 30000), SOAK_RUNS (runs per scenario, default 2).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { runScenario, type ScenarioResult } from './scenario.js';
import { SCENARIOS } from './scenarios.js';

const root = resolve(import.meta.dirname, '../..');
const runMs = Number(process.env.SOAK_MS ?? 30_000);
const runs = Number(process.env.SOAK_RUNS ?? 2);

interface Row {
  scenario: string;
  runs: number;
  acquisitions: number;
  faults: number;
  overlaps: number;
  overlapAllowed: string | undefined;
  staleAccepted: number;
  staleRejected: number;
  once: number;
  twice: number;
  never: number;
  leasesLeft: number;
  stuck: number;
  details: string[];
}

const rows: Row[] = [];
for (const scenario of SCENARIOS) {
  const results: ScenarioResult[] = [];
  for (let r = 0; r < runs; r++) {
    process.stdout.write(`${scenario.name}: run ${r + 1}/${runs} (${runMs} ms)... `);
    const result = await runScenario(scenario, runMs);
    results.push(result);
    console.log(`${result.acquisitions} acquisitions, ${result.overlaps} overlaps, ${result.staleWritesAccepted} stale writes accepted`);
  }
  const sum = (f: (x: ScenarioResult) => number): number => results.reduce((s, x) => s + f(x), 0);
  rows.push({
    scenario: scenario.name,
    runs,
    acquisitions: sum((x) => x.acquisitions),
    faults: sum((x) => x.faults),
    overlaps: sum((x) => x.overlaps),
    overlapAllowed: scenario.overlapAllowed,
    staleAccepted: sum((x) => x.staleWritesAccepted),
    staleRejected: sum((x) => x.writesRejected),
    once: sum((x) => x.orphansRecoveredOnce),
    twice: sum((x) => x.orphansRecoveredTwice),
    never: sum((x) => x.orphansNeverRecovered),
    leasesLeft: sum((x) => x.leasesLeft),
    stuck: sum((x) => x.stuckNodes),
    details: results.flatMap((x) => x.details).slice(0, 5),
  });
}

const version = (JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { version: string }).version;
const redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
const broken = rows.filter((r) => r.staleAccepted + r.twice + r.never + r.leasesLeft + r.stuck > 0 || (r.overlaps > 0 && !r.overlapAllowed));
const lines = [
  '# Reliability',
  '',
  `Written by \`npm run soak\` on ${new Date().toISOString()}: every fault scenario of \`test/faults/scenarios.ts\`, ${runs} run(s) of ${runMs / 1000} s each.`,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${redis}; leasehold ${version}.`,
  '',
  'Each run: worker processes take node leases again and again and write each node with the lease\'s fence (to a node',
  'store on a Redis of its own), recovery managers watch, the fault is injected, and a checker reads the merged',
  'history (system-wide monotonic timestamps). "Stale writes rejected" counts every write refused by the fence,',
  'including the deliberately careless holders that keep writing after their lease is lost.',
  '',
  '| scenario | runs | acquisitions | faults | overlaps | stale writes accepted | stale writes rejected | orphans recovered once / twice / never | leases left | nodes stuck |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.runs} | ${r.acquisitions} | ${r.faults} | ${r.overlaps}${r.overlapAllowed && r.overlaps > 0 ? ' (allowed¹)' : ''} | ${r.staleAccepted} | ${r.staleRejected} | ${r.once} / ${r.twice} / ${r.never} | ${r.leasesLeft} | ${r.stuck} |`,
  ),
  '',
  '¹ The fault breaks an assumption of mutual exclusion on purpose: ' +
    [...new Set(rows.flatMap((r) => (r.overlapAllowed ? [`${r.scenario}: ${r.overlapAllowed}`] : [])))].join('; ') +
    '. Overlaps are then reported, and every stale write must still be refused.',
  '',
  broken.length === 0
    ? 'Every number that must be 0 is 0.'
    : `**Violations** in: ${broken.map((r) => r.scenario).join(', ')}. First details:\n\n${broken.flatMap((r) => r.details.map((d) => `- ${r.scenario}: ${d}`)).join('\n')}`,
  '',
  'Not covered here yet (see the issue): Cluster master failover and quorum master loss run in `test/lock/`',
  '(cluster-failover, cluster-master-loss, quorum-faults, sentinel) rather than through this checker; the 50-process',
  'contention storm, the Redis clock jump under libfaketime, maxmemory eviction and property-based fuzzing are not',
  'written yet.',
  '',
];
writeFileSync(resolve(root, 'RELIABILITY.md'), lines.join('\n'));
console.log(`RELIABILITY.md written${broken.length ? `; VIOLATIONS in ${broken.length} scenario(s)` : ''}`);
process.exitCode = broken.length === 0 ? 0 : 1;
