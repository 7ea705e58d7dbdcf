// `npm run demo`: three conductor processes provision a dozen nodes through a shared RedisNodeStore, each node
// under an exclusive, fenced lease; mid-way one conductor is killed (or paused past its TTL, or stopped cleanly),
// and the RecoveryManagers in the surviving processes move its nodes to their failed states. The demo watches it
// live, checks the invariants from what every process reported (no double hold, no accepted stale write, no lease
// left, no node stuck), prints a summary, writes an HTML timeline, and exits non-zero when an invariant failed.
//
// Options: see examples/demo/cli-options.ts (or --help). REDIS_URL: use that Redis instead of a private one.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LockManager, RedisBackend, RedisNodeStore, nodeIdOf } from 'leasehold';
import { auditLeases, auditRecoveries, auditWrites } from './demo/audit.js';
import { parseDemoOptions, USAGE, UsageError, type DemoOptions } from './demo/cli-options.js';
import type { ConductorProcess } from './demo/fleet.js';
import { createLiveView, type LiveView } from './demo/live-view.js';
import { removePrefix, startPrivateRedis, type PrivateRedis } from './demo/redis-server.js';
import { renderReport } from './demo/report-html.js';
import { runScenario } from './demo/scenario.js';
import { buildSummary, formatSummary, summaryRows } from './demo/summary.js';
import { Timeline } from './demo/timeline.js';

function readOptions(): DemoOptions {
  try {
    return parseDemoOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`demo: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

/** Server clock minus local clock (best of a few round trips), and its uncertainty: half the round trip. */
async function serverOffset(redis: Redis): Promise<{ offsetMs: number; uncertaintyMs: number }> {
  let best = { offsetMs: 0, uncertaintyMs: Infinity };
  for (let i = 0; i < 5; i++) {
    const sent = Date.now();
    const [sec, usec] = (await redis.time()).map(Number);
    const answered = Date.now();
    const uncertaintyMs = (answered - sent) / 2;
    if (uncertaintyMs < best.uncertaintyMs) best = { offsetMs: sec! * 1000 + usec! / 1000 - (sent + answered) / 2, uncertaintyMs };
  }
  return best;
}

const options = readOptions();
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
const out = options.json ? process.stderr : process.stdout;
const ttl = options.ttlMs;
const sweepMs = Math.max(250, Math.round(ttl / 2)); // the backstop for lost expiry events: recovery within TTL + this

let server: PrivateRedis | null = null;
if (!process.env.REDIS_URL) {
  try {
    server = await startPrivateRedis();
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    process.exit(1);
  }
}
const redisUrl = process.env.REDIS_URL ?? server!.url;
const prefix = `leasehold-demo-${randomBytes(4).toString('hex')}`;
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
redis.on('error', () => undefined); // commands still reject; the demo reports those
const { offsetMs, uncertaintyMs } = await serverOffset(redis).catch((error: unknown) => {
  console.error(`demo: cannot reach Redis at ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}: ${(error as Error).message}`);
  server?.stop();
  process.exit(1);
});
const timeline = new Timeline(offsetMs);
const live: LiveView = createLiveView(out, timeline.startedAt, Math.max(1_000, ttl));
live.line(
  server
    ? `started a private redis-server at ${redisUrl}`
    : `using REDIS_URL ${redisUrl.replace(/\/\/[^@]*@/, '//***@')} under prefix ${prefix} (removed at the end; the recovery managers ` +
        'add Ex to notify-keyspace-events there if CONFIG allows, and leave it on)',
);

// Ctrl-C (or SIGTERM): stop the conductors and Redis, remove our keys, and leave.
let fleet: readonly ConductorProcess[] = [];
const cleanUp = async (): Promise<void> => {
  if (!server) {
    const removed = await removePrefix(redis, prefix).catch(() => 0);
    if (removed > 0) live.line(`removed the ${removed} keys of prefix ${prefix} from REDIS_URL`);
  }
  redis.disconnect();
  server?.stop();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const p of fleet) if (p.alive) p.child.kill('SIGKILL');
    live.close();
    out.write(`\ninterrupted (${signal}): conductors stopped, cleaning up\n`);
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

const store = new RedisNodeStore(redis, { prefix });
const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: ttl });
let exitCode = 1;
try {
  const result = await runScenario({ options, redisUrl, prefix, sweepMs, store, locks, timeline, live, started: (f) => (fleet = f) });
  const { fault, dispatcher } = result;
  const finalNodes = await store.list();
  const leasesLeft = (await locks.leases()).length;
  const orphans = await locks.orphans();
  const toleranceMs = 1 + Math.ceil(uncertaintyMs);
  const recoveries = auditRecoveries(timeline, fault.conductor, fault.expected);
  const gracefulRecovered = fault.kind === 'graceful' && recoveries.ofFault.length > 0;
  const reportPath = join(tmpdir(), 'leasehold-demo', `report-${new Date(timeline.startedAt).toISOString().replace(/[:.]/g, '-')}-${process.pid}.html`);
  const summary = buildSummary({
    options,
    privateServer: server !== null,
    startedAt: timeline.startedAt,
    fault,
    finalNodes,
    leasesLeft,
    nodeOrphansLeft: orphans.filter((o) => nodeIdOf(o.resource) !== null).length,
    conductorOrphans: orphans.filter((o) => o.resource.startsWith('conductor:')).map((o) => o.holder.owner),
    leases: auditLeases(timeline, toleranceMs),
    writes: auditWrites(timeline),
    recoveries,
    dispatcher,
    toleranceMs,
    notices: timeline.notices.length,
    processFailures: [...result.processFailures, ...(gracefulRecovered ? [`${fault.conductor} stopped gracefully, yet ${recoveries.ofFault.length} of its nodes needed recovery`] : [])],
    reportPath,
  });
  const title = `leasehold demo: ${options.conductors} conductors, ${options.nodes} nodes, ttl ${ttl} ms, fault ${options.fault}, seed ${options.seed}`;
  mkdirSync(join(tmpdir(), 'leasehold-demo'), { recursive: true });
  writeFileSync(
    reportPath,
    renderReport({ title, timeline, nodeIds: result.nodeIds, conductors: result.fleet.map((p) => p.id), endedAt: result.endedAt, fault, summaryRows: summaryRows(summary), failures: summary.failures }),
  );
  live.close();
  if (options.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(formatSummary(summary));
  exitCode = summary.ok ? 0 : 1;
} catch (error) {
  live.close();
  for (const p of fleet) if (p.alive) p.child.kill('SIGKILL');
  console.error(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await locks.close();
  await cleanUp();
}
process.exit(exitCode);
