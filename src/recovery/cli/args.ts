import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { REDIS_BACKEND_DEFAULTS } from '../../lock/redis/redis-backend.js';
import { ReasonRequiredError } from '../errors.js';
import { UsageError } from './exit-codes.js';
import { redactUrl } from './redact.js';

/** The commands of the CLI. */
export type Command = 'status' | 'recover' | 'watch' | 'help';

/** Where `recover` finds the nodes. */
export type StoreChoice =
  | { readonly kind: 'redis' }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string | null; readonly table: string | null };

/** A Sentinel's address, from `--sentinel host:port[,host:port...]`. */
export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the deployment's keys are (its topology), and so what the CLI connects to:
 * - `standalone`: one Redis (`--redis URL`);
 * - `cluster`: a Redis Cluster, found through its seed nodes (`--cluster`, `--redis URL[,URL...]`);
 * - `sentinel`: the master the sentinels monitor under `master` (`--sentinel host:port[,...] --master NAME`);
 *   `url` (`--redis`, else `$REDIS_URL`, else none) gives only the credentials, database and TLS of the master;
 * - `quorum`: leases on a `QuorumBackend` over `masters` (`--quorum URL,URL,URL`); node store, conductor registry
 *   and event streams on `url` (`--redis`, else `$REDIS_URL`, else the first master).
 */
export type Topology =
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'cluster'; readonly seeds: readonly string[] }
  | { readonly kind: 'sentinel'; readonly sentinels: readonly SentinelAddress[]; readonly master: string; readonly url: string | null }
  | { readonly kind: 'quorum'; readonly masters: readonly string[]; readonly url: string };

/** A parsed, checked command line. */
export interface CliArgs {
  readonly command: Command;
  /** `recover`'s node ids. */
  readonly nodes: readonly string[];
  /** What to connect to. */
  readonly topology: Topology;
  readonly prefix: string;
  readonly shards: number;
  readonly json: boolean;
  /** `status`: audit records to show. */
  readonly audit: number;
  /** `recover`. */
  readonly force: boolean;
  readonly reason: string | null;
  readonly actor: string;
  readonly ttlMs: number;
  readonly store: StoreChoice;
  /** `watch`: past events to print first. */
  readonly tail: number;
}

/** Defaults of the options; `--redis` defaults to `$REDIS_URL`, then this. */
export const CLI_DEFAULTS = Object.freeze({ redis: 'redis://127.0.0.1:6379', audit: 10, ttlMs: 10_000, tail: 0 } as const);

const OPTIONS = {
  redis: { type: 'string' },
  cluster: { type: 'boolean' },
  sentinel: { type: 'string' },
  master: { type: 'string' },
  quorum: { type: 'string' },
  prefix: { type: 'string' },
  shards: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  audit: { type: 'string' },
  force: { type: 'boolean' },
  reason: { type: 'string' },
  actor: { type: 'string' },
  ttl: { type: 'string' },
  store: { type: 'string' },
  pg: { type: 'string' },
  'pg-schema': { type: 'string' },
  'pg-table': { type: 'string' },
  tail: { type: 'string' },
} as const;

/** Options that belong to one command only. */
const ONLY: Readonly<Record<string, Command>> = {
  audit: 'status',
  force: 'recover',
  reason: 'recover',
  actor: 'recover',
  ttl: 'recover',
  store: 'recover',
  pg: 'recover',
  'pg-schema': 'recover',
  'pg-table': 'recover',
  tail: 'watch',
};

const COMMANDS: readonly Command[] = ['status', 'recover', 'watch', 'help'];

/**
 * Parses and checks `argv` (without node and the script). Throws `UsageError` (or `parseArgs`'s own errors) for a
 * bad command line and `ReasonRequiredError` for `--force` without `--reason`: both exit 2 before anything is
 * connected.
 */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  const [first, ...rest] = positionals;
  if (values.help === true || first === 'help') return defaults('help', [], env);
  if (first === undefined) throw new UsageError('No command given: use status, recover <node...> or watch (leasehold --help).');
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(`Unknown command ${JSON.stringify(first)}: use status, recover <node...> or watch (leasehold --help).`);
  }
  const command = first as Command;
  for (const name of Object.keys(values)) {
    const owner = ONLY[name];
    if (owner !== undefined && owner !== command) throw new UsageError(`--${name} is an option of "${owner}", not of "${command}" (leasehold --help).`);
  }
  if (command !== 'recover' && rest.length > 0) {
    throw new UsageError(`"${command}" takes no arguments; got ${rest.map((r) => JSON.stringify(r)).join(' ')} (leasehold --help).`);
  }
  if (command === 'recover' && rest.length === 0) throw new UsageError('recover needs at least one node id: leasehold recover <node...>.');

  const force = values.force === true;
  const reason = values.reason ?? null;
  if (force && (reason === null || reason.trim() === '')) {
    throw new ReasonRequiredError('--force needs --reason "...": why the live lease is broken goes into the audit record.');
  }
  const storeKind = values.store ?? 'redis';
  if (storeKind !== 'redis' && storeKind !== 'postgres') throw new UsageError(`--store must be redis or postgres; got ${JSON.stringify(storeKind)}.`);
  let store: StoreChoice = { kind: 'redis' };
  if (storeKind === 'postgres') {
    if (values.pg === undefined) throw new UsageError('--store postgres needs --pg URL (e.g. postgres://user:password@db:5432/ironic).');
    store = { kind: 'postgres', url: checkUrl('--pg', values.pg, ['postgres:', 'postgresql:']), schema: values['pg-schema'] ?? null, table: values['pg-table'] ?? null };
  } else if (values.pg !== undefined || values['pg-schema'] !== undefined || values['pg-table'] !== undefined) {
    throw new UsageError('--pg, --pg-schema and --pg-table go with --store postgres.');
  }
  const base = defaults(command, rest, env);
  return {
    ...base,
    topology: topologyOf(values, env),
    prefix: values.prefix ?? base.prefix,
    shards: values.shards === undefined ? base.shards : integer('--shards', values.shards, 1, 16_384),
    json: values.json === true,
    audit: values.audit === undefined ? base.audit : integer('--audit', values.audit, 0, 10_000),
    force,
    reason,
    actor: values.actor ?? base.actor,
    ttlMs: values.ttl === undefined ? base.ttlMs : integer('--ttl', values.ttl, 1, 2_147_483_647),
    store,
    tail: values.tail === undefined ? base.tail : integer('--tail', values.tail, 0, 100_000),
  };
}

function defaults(command: Command, nodes: readonly string[], env: NodeJS.ProcessEnv): CliArgs {
  return {
    command,
    nodes,
    topology: { kind: 'standalone', url: env.REDIS_URL || CLI_DEFAULTS.redis },
    prefix: REDIS_BACKEND_DEFAULTS.prefix,
    shards: REDIS_BACKEND_DEFAULTS.shards,
    json: false,
    audit: CLI_DEFAULTS.audit,
    force: false,
    reason: null,
    actor: defaultActor(env),
    ttlMs: CLI_DEFAULTS.ttlMs,
    store: { kind: 'redis' },
    tail: CLI_DEFAULTS.tail,
  };
}

/** `$USER@hostname`, as an operator is named in `last_error` and audit records unless `--actor` says otherwise. */
function defaultActor(env: NodeJS.ProcessEnv): string {
  let user = env.USER ?? env.USERNAME ?? '';
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}

/** The options {@link topologyOf} reads. */
interface TopologyOptions {
  readonly redis?: string | undefined;
  readonly cluster?: boolean | undefined;
  readonly sentinel?: string | undefined;
  readonly master?: string | undefined;
  readonly quorum?: string | undefined;
}

const REDIS_PROTOCOLS = ['redis:', 'rediss:'] as const;

/** The topology the options name; throws `UsageError` for a bad combination or a bad URL, before connecting. */
function topologyOf(values: TopologyOptions, env: NodeJS.ProcessEnv): Topology {
  const modes = [values.cluster === true ? '--cluster' : null, values.sentinel === undefined ? null : '--sentinel', values.quorum === undefined ? null : '--quorum'];
  const chosen = modes.filter((m): m is string => m !== null);
  if (chosen.length > 1) {
    throw new UsageError(`${chosen.join(' and ')} cannot be combined: give one topology (--cluster, --sentinel or --quorum; none of them: one standalone Redis).`);
  }
  if (values.master !== undefined && values.sentinel === undefined) throw new UsageError('--master goes with --sentinel host:port[,host:port...].');
  if (values.sentinel !== undefined && (values.master === undefined || values.master.trim() === '')) {
    throw new UsageError('--sentinel needs --master NAME: the name the sentinels monitor the master under.');
  }
  const given = values.redis ?? (env.REDIS_URL || undefined);
  const option = values.redis === undefined ? '$REDIS_URL' : '--redis';
  /** The one URL `--redis` (or `$REDIS_URL`) gives in quorum and Sentinel modes, checked; null when none is. */
  const single = (role: string): string | null => {
    if (given === undefined) return null;
    if (splitUrls(given).length > 1) throw new UsageError(`${option} lists several URLs; ${role} it names one Redis.`);
    return checkUrl(option, given, REDIS_PROTOCOLS);
  };
  if (values.quorum !== undefined) {
    const masters = splitUrls(values.quorum).map((url) => checkUrl('--quorum', url, REDIS_PROTOCOLS));
    return { kind: 'quorum', masters, url: single('with --quorum (the node store, registry and events)') ?? masters[0]! };
  }
  if (values.sentinel !== undefined) {
    const sentinels = values.sentinel.split(',').map((text) => sentinelAddress(text.trim()));
    return { kind: 'sentinel', sentinels, master: values.master!, url: single("with --sentinel (only the master's credentials)") };
  }
  const urls = splitUrls(given ?? CLI_DEFAULTS.redis).map((url) => checkUrl(option, url, REDIS_PROTOCOLS));
  if (values.cluster === true) {
    const [first] = urls.map((url) => new URL(url));
    for (const url of urls.map((u) => new URL(u))) {
      if (url.protocol !== first!.protocol || url.username !== first!.username || url.password !== first!.password) {
        throw new UsageError(`The seed URLs of ${option} must share one scheme, user and password: a Cluster has one.`);
      }
      if (!/^\/?0?$/.test(url.pathname)) throw new UsageError(`A Redis Cluster has only database 0: drop ${JSON.stringify(url.pathname)} from ${option}.`);
    }
    return { kind: 'cluster', seeds: urls };
  }
  if (urls.length > 1) {
    throw new UsageError(`${option} lists ${urls.length} URLs: seed nodes of a Redis Cluster need --cluster; independent masters (quorum mode), --quorum.`);
  }
  return { kind: 'standalone', url: urls[0]! };
}

/** A comma-separated list of Redis URLs: a comma only separates before `redis://` or `rediss://` (passwords may hold commas). */
function splitUrls(text: string): string[] {
  return text.split(/,(?=\s*rediss?:\/\/)/i).map((url) => url.trim());
}

function sentinelAddress(text: string): SentinelAddress {
  const match = /^(\[[0-9a-f:.]+\]|[^\s:/@[\]]+):(\d{1,5})$/i.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65_535) {
    throw new UsageError(`--sentinel takes host:port[,host:port...] (e.g. sentinel-1:26379,sentinel-2:26379); got ${JSON.stringify(redactUrl(text))}.`);
  }
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function integer(option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}; got ${JSON.stringify(text)}.`);
  }
  return value;
}

function checkUrl(option: string, url: string, protocols: readonly string[]): string {
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // reported below
  }
  if (!protocols.includes(protocol)) {
    throw new UsageError(`${option} must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL; got ${JSON.stringify(redactUrl(url))}.`);
  }
  return url;
}
