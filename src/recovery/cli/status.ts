import type { LeaseRecord, OrphanRecord } from '../../lock/backend.js';
import { listConductors, type ConductorInfo } from '../../conductor/list-conductors.js';
import { RedisConductorRegistry } from '../../conductor/redis-registry.js';
import { nodeIdOf } from '../../nodes/resources.js';
import { RedisEventLog, type LogEntry } from '../event-log.js';
import type { CliArgs } from './args.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { auditRow, duration, entryJson, table, time } from './format.js';
import type { Output } from './output.js';
import type { Session } from './session.js';

/** Most orphans `status` lists. */
const ORPHAN_LIMIT = 1_000;

/** What `status` reads, as `--json` prints it. */
export interface StatusReport {
  /** Where the CLI is connected (the Redis URL, or the Cluster, Sentinel master or quorum), redacted. */
  readonly redis: string;
  /** `standalone`, `cluster`, `sentinel` or `quorum`. */
  readonly topology: Session['topology'];
  readonly prefix: string;
  /** The Redis server's clock when read, epoch ms. */
  readonly at: number;
  readonly conductors: readonly ConductorInfo[];
  readonly leases: readonly (LeaseRecord & { readonly nodeId: string | null })[];
  readonly orphans: readonly (OrphanRecord & { readonly nodeId: string | null })[];
  /** The latest audit records (forced breaks), oldest first. */
  readonly audit: readonly ReturnType<typeof entryJson>[];
}

/** `leasehold status`: conductors online/offline, live leases, orphans waiting, the latest audit records. */
export async function runStatus(args: CliArgs, session: Session, output: Output): Promise<ExitCode> {
  const { redis, locks, prefix } = session;
  const registry = new RedisConductorRegistry(redis, { prefix });
  const audit = new RedisEventLog(redis, 'audit', { prefix });
  const [conductors, leases, orphans, records, [seconds, micros]] = await Promise.all([
    listConductors(locks, registry),
    locks.leases(),
    locks.orphans({ limit: ORPHAN_LIMIT }),
    args.audit > 0 ? audit.tail(args.audit) : Promise.resolve<LogEntry[]>([]),
    redis.time(),
  ]);
  const report: StatusReport = {
    redis: session.where,
    topology: session.topology,
    prefix,
    at: Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000),
    conductors,
    leases: leases.map((l) => ({ ...l, nodeId: nodeIdOf(l.resource) })),
    orphans: orphans.map((o) => ({ ...o, nodeId: nodeIdOf(o.resource) })),
    audit: records.map(entryJson),
  };
  if (args.json) output.data(report);
  else for (const line of statusText(report, records, args.audit)) output.out(line);
  return EXIT.ok;
}

function statusText(report: StatusReport, audit: readonly LogEntry[], auditLimit: number): string[] {
  const lines = [`Redis ${report.redis}, prefix "${report.prefix}", at ${time(report.at)}`, ''];
  const online = report.conductors.filter((c) => c.online).length;
  lines.push(`Conductors: ${online} online, ${report.conductors.length - online} offline`);
  lines.push(
    ...section(
      ['ID', 'STATE', 'HOST', 'PID', 'VERSION', 'DRIVERS', 'STARTED', 'LIVENESS'],
      report.conductors.map((c) => [
        c.id,
        c.online ? 'online' : 'offline',
        c.hostname,
        String(c.pid),
        c.version || '-',
        c.drivers.join(',') || '-',
        time(c.startedAt),
        c.online
          ? `heartbeat ${duration(Date.now() - (c.lastHeartbeatAt ?? Date.now()))} ago, ${duration(c.ttlLeftMs ?? 0)} left`
          : c.stoppedAt !== null
            ? `stopped at ${time(c.stoppedAt)}`
            : 'lease expired (crashed?)',
      ]),
    ),
  );
  lines.push('', `Leases: ${report.leases.length}`);
  lines.push(
    ...section(
      ['RESOURCE', 'HOLDER', 'FENCE', 'PURPOSE', 'ACQUIRED', 'TIME LEFT'],
      report.leases.map((l) => [l.resource, l.holder.owner, String(l.holder.fence), l.holder.purpose || '-', time(l.holder.acquiredAt), duration(l.ttlMs)]),
    ),
  );
  lines.push('', `Orphans waiting for recovery: ${report.orphans.length}`);
  lines.push(
    ...section(
      ['RESOURCE', 'LAST HOLDER', 'FENCE', 'PURPOSE', 'EXPIRED'],
      report.orphans.map((o) => [o.resource, o.holder.owner, String(o.holder.fence), o.holder.purpose || '-', `${duration(report.at - o.expiredAt)} ago`]),
    ),
  );
  if (auditLimit > 0) {
    lines.push('', `Audit (latest ${auditLimit} records of forced breaks): ${audit.length}`);
    lines.push(...section(['WHEN', 'WHAT', 'ACTOR', 'NODE', 'PREVIOUS HOLDER', 'FENCE', 'PURPOSE', 'TIME LEFT', 'REASON'], audit.map(auditRow)));
  }
  return lines;
}

function section(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return rows.length === 0 ? ['  (none)'] : table(header, rows);
}
