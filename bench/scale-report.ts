// Renders one `npm run scale` run (bench/scale.ts) as SCALE.md.
import { totalmem } from 'node:os';
import type { MachineInfo } from './machine.js';
import { percentile } from './stats.js';

/** Commands one server ran during a phase. */
export interface PhaseOps {
  /** Every command, those run inside scripts included (the measuring INFO left out). */
  readonly total: number;
  /** Script calls (`EVALSHA` + `EVAL`): the requests that ran a script. */
  readonly scripts: number;
  readonly byCommand: ReadonlyMap<string, number>;
  /** CPU the server used, ms. */
  readonly cpuMs: number;
  /** The phase's length, ms. */
  readonly ms: number;
}

export interface BeatSample {
  readonly leases: number;
  readonly renewed: number;
  readonly lost: number;
  readonly durationMs: number;
}

export interface ChildResult {
  readonly id: string;
  readonly pid: number;
  readonly nodes: number;
  readonly reserveMs: number;
  /** Heartbeats that ended in the hold window. */
  readonly holdBeats: readonly BeatSample[];
  /** Heartbeats between the SIGKILL of the victim and the last recovery. */
  readonly recoveryBeats: readonly BeatSample[];
  /** `lost` events over the whole run, and before the process was killed (the victim's after are expected: none are sent). */
  readonly lostEvents: number;
  readonly lostBeforeKill: number;
  /** Leases heartbeats reported lost, over the whole run. */
  readonly beatLost: number;
  /** `lost` events by reason (`deadline`, `token-mismatch`, ...). */
  readonly lostReasons: Readonly<Record<string, number>>;
  /** When its first lease was lost, s from the start of the hold (negative: before it), or null. */
  readonly firstLostS: number | null;
  /** The process's CPU between its first and last heartbeat of the hold window, ms, and that span. */
  readonly holdCpuMs: number | null;
  readonly holdCpuSpanMs: number;
  readonly rssBytes: number;
  readonly killed: boolean;
  readonly failures: readonly string[];
}

export interface MasterRow {
  readonly address: string;
  readonly slots: string;
  /** leasehold shards (of the backend's default count) whose hash tag lands on this master. */
  readonly shards: number;
  readonly nodeLeases: number;
  /** INFO keyspace at the end of the hold. */
  readonly keys: number;
  readonly expires: number;
  readonly dataMemoryBefore: number;
  readonly dataMemory: number;
}

export interface StoreRow {
  readonly address: string;
  readonly keys: number;
  readonly keysAtHold: number;
  readonly dataMemory: number;
}

/** Every 10 s of the hold: the 1-minute load average, leases lost so far, heartbeats that ended in those 10 s. */
export interface TimelineRow {
  readonly atS: number;
  readonly load: number;
  readonly lostSoFar: number;
  readonly beats: number;
  readonly maxBeatMs: number;
}

export interface ScaleResult {
  readonly machine: MachineInfo;
  readonly loadAtEnd: number;
  readonly loadAtHold: readonly [number, number];
  readonly elapsedS: number;
  readonly quick: boolean;
  readonly config: {
    readonly conductors: number;
    readonly nodesPerConductor: number;
    readonly ttlMs: number;
    readonly heartbeatMs: number;
    readonly holdMs: number;
    readonly reserveConcurrency: number;
    readonly createConcurrency: number;
    readonly recoveryConcurrency: number;
    readonly sweepIntervalMs: number;
    readonly shards: number;
    readonly replicas: number;
  };
  readonly createMs: number;
  readonly reserveWallMs: number;
  readonly children: readonly ChildResult[];
  readonly masters: readonly MasterRow[];
  readonly store: StoreRow;
  readonly timeline: readonly TimelineRow[];
  /** The masters (`host:port`) at the start and at the end, and the cluster's config epoch: a failover changes both. */
  readonly topology: {
    readonly mastersAtStart: readonly string[];
    readonly mastersAtEnd: readonly string[];
    readonly epochAtStart: number;
    readonly epochAtEnd: number;
  };
  readonly ops: Readonly<Record<'reserve' | 'hold' | 'recovery', { readonly masters: readonly PhaseOps[]; readonly store: PhaseOps }>>;
  readonly recovery: {
    readonly victim: string;
    readonly nodes: number;
    readonly finished: boolean;
    readonly recovered: number;
    readonly duplicates: number;
    readonly wrongOwner: number;
    readonly failedAttempts: number;
    readonly triggers: Readonly<Record<string, number>>;
    readonly sweeps: number;
    readonly killToFirstExpiryMs: number;
    readonly expirySpreadMs: number;
    readonly killToFirstFailedMs: number;
    readonly killToAllFailedMs: number;
    readonly firstExpiryToAllFailedMs: number;
    readonly store: {
      readonly deployFailed: number;
      readonly deployFailedOfVictim: number;
      readonly deployFailedOthers: number;
      readonly namingVictim: number;
      readonly deploying: number;
      readonly writesOnce: number;
      readonly writesTwiceOrMore: number;
      readonly writesNone: number;
    };
  };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const s1 = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : '∞');
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const row = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;
const header = (cells: readonly string[]): string => `${row(cells)}\n${row(cells.map(() => '---'))}`;
const spread = (values: readonly number[]): string =>
  values.length === 0 ? '–' : `${Math.min(...values).toFixed(0)} / ${percentile(values, 50).toFixed(0)} / ${percentile(values, 99).toFixed(0)} / ${Math.max(...values).toFixed(0)}`;
const byName = (byCommand: ReadonlyMap<string, number>, per = 1): string =>
  [...byCommand]
    .filter(([, n]) => n / per >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name}=${per === 1 ? int(n) : (n / per).toFixed(2)}`)
    .join(' ');
const sumOps = (list: readonly PhaseOps[]): { total: number; scripts: number; cpuMs: number; byCommand: Map<string, number> } => {
  const byCommand = new Map<string, number>();
  for (const ops of list) for (const [name, n] of ops.byCommand) byCommand.set(name, (byCommand.get(name) ?? 0) + n);
  return {
    total: list.reduce((sum, o) => sum + o.total, 0),
    scripts: list.reduce((sum, o) => sum + o.scripts, 0),
    cpuMs: list.reduce((sum, o) => sum + o.cpuMs, 0),
    byCommand,
  };
};

export function renderScaleReport(r: ScaleResult): string {
  const c = r.config;
  const total = c.conductors * c.nodesPerConductor;
  const survivors = r.children.filter((child) => !child.killed);
  const falseLosses = r.children.reduce((sum, child) => sum + child.lostBeforeKill, 0) + survivors.reduce((sum, child) => sum + child.lostEvents - child.lostBeforeKill, 0);
  const holdLost = r.children.reduce((sum, child) => sum + child.holdBeats.reduce((s, b) => s + b.lost, 0), 0);
  const holdDurations = r.children.flatMap((child) => child.holdBeats.map((b) => b.durationMs));
  const holdBeats = r.children.reduce((sum, child) => sum + child.holdBeats.length, 0);
  const allRenewed = r.children.every((child) => child.holdBeats.every((b) => b.renewed === b.leases && b.leases === child.nodes + 1));
  const rec = r.recovery;
  const recoveredOnce = rec.finished && rec.duplicates === 0 && rec.store.writesOnce === rec.nodes && rec.store.deployFailedOfVictim === rec.nodes && rec.store.deployFailedOthers === 0;
  const hold = r.ops.hold;
  const holdSum = sumOps(hold.masters);
  const leasesPerBeat = holdBeats === 0 ? 0 : r.children.reduce((sum, child) => sum + child.holdBeats.reduce((s, b) => s + b.leases, 0), 0) / holdBeats;
  const reserve = r.ops.reserve;
  const reserveSum = sumOps(reserve.masters);
  const recoveryOps = r.ops.recovery;
  const recoverySum = sumOps(recoveryOps.masters);
  const survivorRecoveryBeats = survivors.flatMap((child) => child.recoveryBeats);
  const failedOver = r.topology.mastersAtStart.join() !== r.topology.mastersAtEnd.join() || r.topology.epochAtStart !== r.topology.epochAtEnd;
  const lostReasons = new Map<string, number>();
  for (const child of r.children) for (const [reason, n] of Object.entries(child.lostReasons)) lostReasons.set(reason, (lostReasons.get(reason) ?? 0) + n);
  const packages = [...r.machine.packages].filter(([name]) => name === 'leasehold' || name === 'ioredis').map(([name, v]) => `${name} ${v}`).join(', ');

  const lines: string[] = [
    `# Scale: ${int(total)} nodes held by ${c.conductors} conductors on a Redis Cluster`,
    '',
    `> Generated by \`npm run scale\` (bench/scale.ts) on ${r.machine.date}. Do not edit by hand: rerun it.` +
      (r.quick ? ' **QUICK run: smaller than the real one.**' : ''),
    '',
    `${c.conductors} conductor processes (bench/conductor-child.ts), each a real \`Conductor\` on a \`LockManager\` on a ` +
      '`RedisBackend` over an ioredis `Cluster` client, hold ' +
      `${int(c.nodesPerConductor)} nodes each (${int(total)} in all) with TTL ${c.ttlMs / 1000} s on a private Redis Cluster of ` +
      `${r.masters.length} masters + ${c.replicas} replicas, for ${c.holdMs / 1000} s; then one of them is SIGKILLed and a ` +
      '`RecoveryManager` finds and fails its nodes with its sweeps.',
    '',
    '## Results',
    '',
    header(['check', 'result', 'ok']),
    row([
      `no false loss: every live conductor keeps every lease (${int(total)} nodes, ${c.conductors} liveness leases)`,
      `${falseLosses} leases lost by live conductors over the whole run (${holdLost} reported by heartbeats in the ${c.holdMs / 1000} s hold); ` +
        `${holdBeats} heartbeats in the hold, ${allRenewed ? 'each renewing every lease of its conductor' : 'NOT each renewing every lease'}`,
      falseLosses === 0 && allRenewed ? 'yes' : '**no**',
    ]),
    row([
      `heartbeat wall time, ${int(c.nodesPerConductor + 1)} leases per conductor, beats every ${c.heartbeatMs} ms (ok: every beat ends before the next is due)`,
      `min / p50 / p99 / max ${spread(holdDurations)} ms over ${holdBeats} beats of ${c.conductors} conductors`,
      holdDurations.length > 0 && Math.max(...holdDurations) < c.heartbeatMs ? 'yes' : '**no**',
    ]),
    row([
      `leases spread over all ${r.masters.length} masters (by their shard's hash tag; ${c.shards} shards)`,
      `node leases per master ${r.masters.map((m) => int(m.nodeLeases)).join(' / ')}; keys ${r.masters.map((m) => int(m.keys)).join(' / ')}; ` +
        `hold: script calls per s ${hold.masters.map((o) => (o.scripts / (o.ms / 1000)).toFixed(1)).join(' / ')}, commands per s ` +
        `${hold.masters.map((o) => int(o.total / (o.ms / 1000))).join(' / ')} (section 3)`,
      r.masters.every((m) => m.nodeLeases > 0) ? 'yes' : '**no**',
    ]),
    row([
      'no failover during the run (the same masters at the end, the same cluster epoch)',
      failedOver
        ? `**failover**: masters ${r.topology.mastersAtStart.join(', ')} at the start, ${r.topology.mastersAtEnd.join(', ')} at the end; ` +
          `epoch ${r.topology.epochAtStart} → ${r.topology.epochAtEnd} (a master starved past \`cluster-node-timeout\`, 2 s, is replaced by its replica); ` +
          'the per-master figures below come from the original masters\' own INFO'
        : `same ${r.masters.length} masters, epoch ${r.topology.epochAtStart}`,
      failedOver ? '**no**' : 'yes',
    ]),
    row([
      `SIGKILL of ${rec.victim}: its ${int(rec.nodes)} nodes failed by the recovery sweeps, each exactly once`,
      `${int(rec.recovered)} recovered (${rec.duplicates} twice) ${s1(rec.killToAllFailedMs)} s after the kill, ` +
        `${s1(rec.firstExpiryToAllFailedMs)} s after the first lease expired; node store: ${int(rec.store.deployFailedOfVictim)} of its nodes in deploy failed, ` +
        `each written there exactly once (${rec.store.writesTwiceOrMore} twice, ${rec.store.writesNone} never), ${rec.store.deployFailedOthers} other nodes failed`,
      recoveredOnce ? 'yes' : '**no**',
    ]),
    row([
      `taking ${int(total)} nodes (one \`Conductor.reserve\` per node, ${c.reserveConcurrency} at once per conductor, all conductors at once)`,
      `${s1(r.reserveWallMs)} s (${int(total / (r.reserveWallMs / 1000))} nodes/s); slowest conductor ${s1(Math.max(...r.children.map((child) => child.reserveMs)))} s`,
      'measured',
    ]),
    '',
    '## Machine',
    '',
    header(['CPU', 'cores', 'RAM', 'Node', 'redis-server', 'packages', 'date (UTC)', 'load avg (1 min): start / hold start / hold end / end', 'run time']),
    row([
      r.machine.cpu,
      r.machine.cores,
      `${(totalmem() / 1024 ** 3).toFixed(0)} GiB`,
      r.machine.node,
      r.machine.redisServer,
      packages,
      r.machine.date,
      `${r.machine.loadAtStart.toFixed(2)} / ${r.loadAtHold[0].toFixed(2)} / ${r.loadAtHold[1].toFixed(2)} / ${r.loadAtEnd.toFixed(2)}`,
      `${r.elapsedS.toFixed(0)} s`,
    ]),
    '',
    `All ${r.masters.length + c.replicas + 1} redis-server processes, the ${c.conductors} conductor processes and this script share ` +
      `the machine's ${r.machine.cores} cores (with whatever else runs on it: see the load average), so every figure is an upper bound ` +
      'of what a machine per process would show.',
    '',
    '## Setup',
    '',
    `- **Locks**: a private Redis Cluster (test/harness/redis-cluster.ts: ${r.masters.length} masters, ${c.replicas} replicas, ` +
      '`cluster-node-timeout 2000`, no persistence) on loopback. Each conductor process has one ioredis `Cluster` client; ' +
      `\`RedisBackend\` with its default ${c.shards} shards (each shard's keys share a hash tag, so one shard lives on one master).`,
    `- **Node store**: \`RedisNodeStore\` on a separate private standalone redis-server (${r.store.address}). A ` +
      '`RedisNodeStore` keeps all its keys under one hash tag (`{<prefix>}`): on the Cluster it would put all ' +
      `${int(total)} nodes, their state sets and every fenced write on one master, like a SQL table on one server. A ` +
      "separate server plays that table's part and keeps the Cluster's figures about the locks alone.",
    `- **Conductors**: \`Conductor\` + \`LockManager\` (TTL ${c.ttlMs} ms, heartbeat every ${c.heartbeatMs} ms, the default) + ` +
      '`RedisBackend` + `RedisConductorRegistry` (on the Cluster) + `RedisNodeStore`; each reserves its nodes with ' +
      `\`Conductor.reserve\` (${c.reserveConcurrency} at once) and moves each to \`deploying\` with a fenced write; the tasks stay ` +
      'held, so each heartbeat renews every node lease plus the liveness lease.',
    `- **Recovery**: one \`RecoveryManager\` in the parent process (its own \`LockManager\` and Cluster client), started after ` +
      `the hold, concurrency ${c.recoveryConcurrency}, sweeps every ${c.sweepIntervalMs} ms (the defaults), **no expiry-event subscriber** ` +
      '(and the Cluster publishes none): only sweeps find the orphans. A sweep reads at most 1,000 orphans; a full one is followed by ' +
      'another as soon as its batch is recovered. The node store is wrapped to count, per node, the transitions into `deploy failed` it applied.',
    '',
    `## 1. Taking ${int(total)} nodes`,
    '',
    `The ${int(total)} nodes were created in the store first (${s1(r.createMs)} s, ${c.createConcurrency} at once). Then every ` +
      'conductor got its list at the same moment. Per node: `NodeStore.get`, the acquire script on the Cluster, `NodeStore.get` ' +
      'again, and the fenced transition to `deploying`: one lock request and three store requests, each a round trip, the lock ' +
      'round trip before the store writes.',
    '',
    header(['conductor', 'nodes', 'reserve + move to deploying, s', 'nodes/s']),
    ...r.children.map((child) => row([child.id, int(child.nodes), s1(child.reserveMs), int(child.nodes / (child.reserveMs / 1000))])),
    row(['**all, at once**', `**${int(total)}**`, `**${s1(r.reserveWallMs)}**`, `**${int(total / (r.reserveWallMs / 1000))}**`]),
    '',
    `Server side while taking them: Cluster masters ran ${int(reserveSum.scripts)} script calls (${(reserveSum.scripts / total).toFixed(2)} per node) and ` +
      `${int(reserveSum.total)} commands (${(reserveSum.total / total).toFixed(1)} per node: \`${byName(reserveSum.byCommand, total)}\`, heartbeats of ` +
      `the leases already taken included), ${(reserveSum.cpuMs / 1000).toFixed(1)} s of CPU; the node store ran ${int(reserve.store.total)} commands ` +
      `(${(reserve.store.total / total).toFixed(1)} per node), ${(reserve.store.cpuMs / 1000).toFixed(1)} s of CPU.`,
    '',
    `The library takes leases one at a time: \`LockManager.acquire\` (and \`Conductor.reserve\` on it) is one script call per ` +
      'resource, and there is no call that takes many resources in one request. Taking N nodes costs N lock round trips however ' +
      'they are spread over shards and masters; a conductor starting up with its whole fleet (or taking over a dead one\'s) pays ' +
      'that. The heartbeat, by contrast, is batched per shard (section 2).',
    '',
    `## 2. Holding them for ${c.holdMs / 1000} s`,
    '',
    `Every heartbeat that ended in the hold window, per conductor (\`heartbeat\` events of its \`LockManager\`, sent to the parent ` +
      'over IPC). Wall time = the report\'s `durationMs`: from the beat\'s start to the last master\'s answer applied. CPU = the ' +
      'process\'s user + system time between its first and last beat of the window, as a share of one core.',
    '',
    header(['conductor', 'leases per beat', 'beats', 'renewed every lease', 'beat wall ms min / p50 / p99 / max', 'lost (whole run)', 'CPU % of a core', 'RSS MB']),
    ...r.children.map((child) => {
      const durations = child.holdBeats.map((b) => b.durationMs);
      const leases = [...new Set(child.holdBeats.map((b) => b.leases))].join(', ');
      const lost = child.killed ? `${child.lostBeforeKill} before its SIGKILL` : `${child.lostEvents}`;
      return row([
        child.id + (child.killed ? ' (killed after the hold)' : ''),
        leases || '–',
        child.holdBeats.length,
        child.holdBeats.every((b) => b.renewed === b.leases) ? 'yes' : '**no**',
        spread(durations),
        lost,
        child.holdCpuMs === null || child.holdCpuSpanMs <= 0 ? '–' : ((100 * child.holdCpuMs) / child.holdCpuSpanMs).toFixed(1),
        mb(child.rssBytes),
      ]);
    }),
    row(['**all**', int(leasesPerBeat), holdBeats, allRenewed ? 'yes' : '**no**', spread(holdDurations), String(falseLosses), '', '']),
    '',
    ...(lostReasons.size > 0
      ? [
          `Leases lost, by reason: ${[...lostReasons].map(([reason, n]) => `${reason} ${int(n)}`).join(', ')}; first loss per conductor, s from the start of the hold: ` +
            `${r.children.map((child) => (child.firstLostS === null ? '–' : child.firstLostS.toFixed(1))).join(' / ')}.`,
          '',
        ]
      : []),
    ...r.children.flatMap((child) => (child.failures.length > 0 ? [`- ${child.id} reported ${child.failures.length} background errors, e.g. ${child.failures[0]}`] : [])),
    ...(r.children.some((child) => child.failures.length > 0) ? [''] : []),
    'The hold, 10 s at a time (load = the machine\'s 1-minute load average then; beats = heartbeats of all conductors that ended in those 10 s):',
    '',
    header(['s into the hold', 'load avg (1 min)', 'heartbeats', 'longest heartbeat ms', 'leases lost so far']),
    ...r.timeline.map((t) => row([t.atS.toFixed(0), t.load.toFixed(2), t.beats, t.maxBeatMs.toFixed(0), int(t.lostSoFar)])),
    '',
    `Server side during the hold (heartbeats only): ${int(holdSum.scripts)} script calls and ${int(holdSum.total)} commands on the masters ` +
      `(\`${byName(holdSum.byCommand)}\`), i.e. ${(holdSum.scripts / Math.max(1, holdBeats)).toFixed(1)} script calls per conductor heartbeat of ` +
      `${int(leasesPerBeat)} leases; ${((100 * holdSum.cpuMs) / hold.masters[0]!.ms).toFixed(1)} % of a core for all masters together.`,
    '',
    '## 3. Per master: keys and operations',
    '',
    `Each master's own \`INFO keyspace\`, \`INFO commandstats\` and \`INFO memory\`, read over a direct connection. Data memory = ` +
      '`used_memory` − `mem_replication_backlog` − `mem_clients_slaves` − `mem_clients_normal` (the replication backlog ' +
      'fills up with the first writes; client buffers come and go with traffic). Keys at the end of the ' +
      `hold: one lock key per lease (with a TTL), plus each shard's \`meta\` hash and \`held\` sorted set, plus the registry hash. ` +
      'Commands include those run inside scripts; script calls are `EVALSHA` + `EVAL`. Replicas repeat their master\'s writes and are ' +
      'not listed.',
    '',
    header([
      'master',
      'slots',
      `shards (of ${c.shards})`,
      'node leases',
      'keys (with TTL)',
      'data memory MB (before → held)',
      'reserve: script calls / commands',
      `hold: script calls per s / commands per s`,
      'hold: script calls per conductor beat per 1,000 leases',
      'hold: CPU %',
      'recovery: script calls / commands',
    ]),
    ...r.masters.map((m, i) => {
      const h = hold.masters[i]!;
      const perBeat = h.scripts / Math.max(1, holdBeats);
      return row([
        m.address,
        m.slots,
        m.shards,
        int(m.nodeLeases),
        `${int(m.keys)} (${int(m.expires)})`,
        `${mb(m.dataMemoryBefore)} → ${mb(m.dataMemory)}`,
        `${int(reserve.masters[i]!.scripts)} / ${int(reserve.masters[i]!.total)}`,
        `${(h.scripts / (h.ms / 1000)).toFixed(1)} / ${int(h.total / (h.ms / 1000))}`,
        leasesPerBeat === 0 ? '–' : (perBeat / (leasesPerBeat / 1000)).toFixed(2),
        ((100 * h.cpuMs) / h.ms).toFixed(1),
        `${int(recoveryOps.masters[i]!.scripts)} / ${int(recoveryOps.masters[i]!.total)}`,
      ]);
    }),
    row([
      `node store (standalone) ${r.store.address}`,
      '–',
      '–',
      '–',
      `${int(r.store.keysAtHold)}`,
      mb(r.store.dataMemory),
      `${int(reserve.store.scripts)} / ${int(reserve.store.total)}`,
      `${(hold.store.scripts / (hold.store.ms / 1000)).toFixed(1)} / ${int(hold.store.total / (hold.store.ms / 1000))}`,
      '–',
      ((100 * hold.store.cpuMs) / hold.store.ms).toFixed(1),
      `${int(recoveryOps.store.scripts)} / ${int(recoveryOps.store.total)}`,
    ]),
    '',
    `Data memory held per lease on the masters, all keys included: ${((r.masters.reduce((sum, m) => sum + m.dataMemory - m.dataMemoryBefore, 0)) / (total + c.conductors)).toFixed(0)} B ` +
      `(the difference over all masters / ${int(total + c.conductors)} leases; the lock keys' TTLs, the shards' meta and held entries, the Cluster's per-key slot bookkeeping).`,
    '',
    `## 4. SIGKILL of ${rec.victim} and recovery by sweeps`,
    '',
    `${rec.victim} was SIGKILLed at a random point of its heartbeat cycle, holding ${int(rec.nodes)} nodes in \`deploying\`. Times ` +
      'from the kill are this machine\'s monotonic clock; lease expiry times are the Redis server clock (`RecoveredEvent.previous.expiredAt`), on this same host.',
    '',
    header(['', '']),
    row(['kill → first lease deadline', `${int(rec.killToFirstExpiryMs)} ms (deadlines spread over ${int(rec.expirySpreadMs)} ms)`]),
    row(['kill → first node failed', `${int(rec.killToFirstFailedMs)} ms`]),
    row(['kill → all nodes failed', `**${s1(rec.killToAllFailedMs)} s**`]),
    row(['first lease deadline → all nodes failed', `${s1(rec.firstExpiryToAllFailedMs)} s`]),
    row(['sweeps from the kill to the last recovery', String(rec.sweeps)]),
    row(['recoveries by trigger', Object.entries(rec.triggers).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${int(n)}`).join(', ') || '–']),
    row(['`recovered` events: distinct nodes / beyond the first for a node / of another holder', `${int(rec.recovered)} / ${rec.duplicates} / ${rec.wrongOwner}`]),
    row(['failed recovery attempts (retried by later sweeps)', String(rec.failedAttempts)]),
    row(['node store: nodes in `deploy failed` (of the victim / others)', `${int(rec.store.deployFailed)} (${int(rec.store.deployFailedOfVictim)} / ${rec.store.deployFailedOthers})`]),
    row(['node store: victim\'s nodes whose `last_error` names it as the dead holder', int(rec.store.namingVictim)]),
    row(['node store: transitions into `deploy failed` per victim node: once / more than once / never', `${int(rec.store.writesOnce)} / ${rec.store.writesTwiceOrMore} / ${rec.store.writesNone}`]),
    row(['node store: nodes still `deploying` (the survivors\', held)', int(rec.store.deploying)]),
    row([
      'survivors meanwhile: heartbeats, wall ms min / p50 / p99 / max, leases lost',
      `${survivorRecoveryBeats.length}, ${spread(survivorRecoveryBeats.map((b) => b.durationMs))}, ${survivorRecoveryBeats.reduce((s, b) => s + b.lost, 0)}`,
    ]),
    '',
    `Server side from the kill to the last recovery: ${int(recoverySum.scripts)} script calls and ${int(recoverySum.total)} commands on the masters ` +
      `(survivors' heartbeats included: \`${byName(recoverySum.byCommand)}\`), ${int(recoveryOps.store.total)} commands on the node store.`,
    '',
    'Sources: bench/scale.ts (this run), bench/scale-report.ts (this file), bench/conductor-child.ts and bench/conductor-process.ts ' +
      '(the conductor processes), bench/cluster.ts (the private Cluster and its per-master INFO).',
    '',
  ];
  return lines.join('\n');
}
