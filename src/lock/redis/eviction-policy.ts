/**
 * Whether a Redis deployment may evict leasehold's keys. Lock keys carry a TTL, so with `maxmemory` set, every
 * `volatile-*` and `allkeys-*` policy may delete a live lock under memory pressure: a silent loss (no `expired`
 * event, the holder learns at its next heartbeat at best, and a rival can take the node meanwhile); `allkeys-*` may
 * also delete the records that keep fences growing and orphans findable. Only `noeviction` (or no `maxmemory`)
 * keeps them.
 *
 * @packageDocumentation
 */
import type { Cluster, Redis } from 'ioredis';
import type { LockBackend } from '../backend.js';
import { EvictionPolicyError, InvalidOptionError } from '../errors.js';
import { settleWithin } from '../health.js';
import { errorFields, redactSecrets } from '../logger.js';
import { RedisBackend } from './redis-backend.js';
import type { RedisClient } from './scripts.js';

/**
 * What one Redis server says about eviction.
 *
 * @example
 * ```ts
 * const checks: EvictionCheck[] = await checkEvictionPolicy(locks.options.backend);
 * const evicting = checks.filter((c) => c.verdict === 'evicting').map((c) => `${c.server} (${c.policy})`);
 * if (evicting.length > 0) console.error(`set maxmemory-policy noeviction on ${evicting.join(', ')}`);
 * ```
 */
export interface EvictionCheck {
  /** The server, as `host:port`. */
  readonly server: string;
  /** Its `maxmemory` in bytes (`0`: no limit, nothing is ever evicted), or `null` when it could not be read. */
  readonly maxmemory: number | null;
  /** Its `maxmemory-policy` (e.g. `"noeviction"`, `"allkeys-lru"`), or `null` when it could not be read. */
  readonly policy: string | null;
  /**
   * `safe`: nothing it holds is evicted (no `maxmemory`, or `noeviction`; for `records`, any policy but
   * `allkeys-*`); `evicting`: live locks and fence records (or, for `records`, node records) may be evicted; `unknown`: CONFIG is disabled, renamed or forbidden (managed services often do that), or the server did
   * not answer in time.
   */
  readonly verdict: 'safe' | 'evicting' | 'unknown';
  /** Why the verdict is `unknown` (credentials in URLs redacted), else `null`. */
  readonly error: string | null;
  /**
   * What the server was checked for: `leases` (lock keys, which carry a TTL, and their records: any evicting policy
   * is a risk) or `records` (keys without a TTL, such as a `RedisNodeStore`'s nodes: only `allkeys-*` policies evict
   * them).
   */
  readonly holds: 'leases' | 'records';
}

/** How long one server may take to answer CONFIG GET before its verdict is `unknown`, in ms. */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * Reads `maxmemory` and `maxmemory-policy` (CONFIG GET) on every master that stores `backend`'s leases: the server of
 * a standalone or Sentinel client, each master of a Cluster, each master of a `QuorumBackend`, all at once. A client
 * still connecting is waited for (2 s at most; a Cluster client first waits as long for its slot map), then CONFIG
 * GET has 2 s to answer. Never rejects: a server not connected by then, or where CONFIG is refused or unanswered,
 * gets the verdict `unknown`. A backend that is not a Redis one (a
 * backend of your own) has no servers to check: the answer is empty.
 *
 * `Conductor.start()` and `RecoveryManager.start()` run this check and refuse to start with an
 * {@link EvictionPolicyError} when a server may evict (unless given `allowEviction: true`).
 *
 * @example
 * ```ts
 * for (const check of await checkEvictionPolicy(locks.options.backend)) {
 *   if (check.verdict !== 'safe') console.warn(`${check.server}: maxmemory ${check.maxmemory}, policy ${check.policy}`);
 * }
 * ```
 */
export async function checkEvictionPolicy(backend: LockBackend): Promise<EvictionCheck[]> {
  return checkServers(await serversOf(backend), 'leases');
}

/**
 * Like {@link checkEvictionPolicy}, for a client whose keys carry no TTL (a `RedisNodeStore`'s): only an `allkeys-*`
 * policy with `maxmemory` set evicts them, so only that verdict is `evicting`. Reads the server of a standalone or
 * Sentinel client, each master of a Cluster. Rejects only with `InvalidOptionError` when `client` is not an ioredis
 * client; a server that does not answer gets the verdict `unknown`.
 *
 * @example
 * ```ts
 * const [check] = await checkRecordEvictionPolicy(redis);
 * if (check?.verdict === 'evicting') console.error(`${check.server} may evict node records (${check.policy})`);
 * ```
 */
export async function checkRecordEvictionPolicy(client: RedisClient): Promise<EvictionCheck[]> {
  if (typeof client !== 'object' || client === null || typeof (client as { config?: unknown }).config !== 'function') {
    throw new InvalidOptionError('checkRecordEvictionPolicy needs an ioredis Redis or Cluster client.');
  }
  return checkServers(await serversOfClient(client), 'records');
}

function checkServers(servers: readonly Redis[], holds: EvictionCheck['holds']): Promise<EvictionCheck[]> {
  return Promise.all(
    servers.map(async (server) => {
      await whenReady(server);
      // Not connected: nothing is sent (it would wait in the offline queue, or be refused at once without one).
      if (server.status !== 'ready') return unknown(nameOf(server), holds, `not connected within ${CHECK_TIMEOUT_MS} ms (${server.status})`);
      return settleWithin(read(server, holds), CHECK_TIMEOUT_MS, (error) =>
        unknown(nameOf(server), holds, error === null ? `no answer to CONFIG GET within ${CHECK_TIMEOUT_MS} ms` : errorFields(error).message),
      );
    }),
  );
}

/**
 * Runs {@link checkEvictionPolicy} for a component about to start (`who`, e.g. `conductor "c-1"`): throws an
 * {@link EvictionPolicyError} when a server may evict, unless `allowEviction`; then, and for every server whose
 * policy could not be read, `warn` is told why. Resolves to the checks.
 */
export async function enforceEvictionPolicy(
  backend: LockBackend,
  options: {
    readonly who: string;
    readonly allowEviction: boolean;
    readonly warn: (message: string, checks: readonly EvictionCheck[]) => void;
    /** A client whose keys carry no TTL (a node store's), checked too unless its servers already were for leases. */
    readonly records?: RedisClient | undefined;
  },
): Promise<EvictionCheck[]> {
  const leases = await checkEvictionPolicy(backend);
  const checked = new Set(leases.map((c) => c.server));
  // A server already checked for leases (usually the same client) is not read again: the lease rule is the stricter.
  const recordServers = options.records === undefined ? [] : (await serversOfClient(options.records)).filter((server) => !checked.has(nameOf(server)));
  const records = await checkServers(recordServers, 'records');
  const checks = [...leases, ...records];
  const evicting = checks.filter((c) => c.verdict === 'evicting');
  const unknowns = checks.filter((c) => c.verdict === 'unknown');
  if (evicting.length > 0) {
    const error = new EvictionPolicyError(evicting);
    if (!options.allowEviction) throw error;
    options.warn(`${options.who} starts anyway (allowEviction: true), at the risk of silent lease loss: ${error.message}`, evicting);
  }
  if (unknowns.length > 0) {
    options.warn(
      `${options.who} could not check the eviction policy of ${unknowns.map((c) => `${c.server} (${c.error ?? 'no answer'})`).join(', ')}. ` +
        'Make sure each has maxmemory-policy noeviction (or no maxmemory): an evicting policy can delete live locks silently.',
      unknowns,
    );
  }
  return checks;
}

/** The servers to check: the masters that hold `backend`'s keys. */
async function serversOf(backend: LockBackend): Promise<Redis[]> {
  if (backend instanceof RedisBackend) return serversOfClient(backend.client);
  // Quorum mode (QuorumBackend, not imported here: it imports this layer): one RedisBackend per master.
  const masters = (backend as { readonly masters?: unknown }).masters;
  if (Array.isArray(masters) && masters.every((m) => m instanceof RedisBackend)) {
    return (await Promise.all(masters.map((m: RedisBackend) => serversOf(m)))).flat();
  }
  return [];
}

/** The server of a standalone or Sentinel client; each master of a Cluster. */
async function serversOfClient(client: RedisClient): Promise<Redis[]> {
  if (!client.isCluster) return [client as Redis];
  const cluster = client as Cluster;
  // Until its first slot refresh, a Cluster client lists its startup nodes (replicas too) as masters.
  await whenReady(cluster);
  return cluster.nodes('master');
}

/**
 * Resolves once `client` is ready, or after CHECK_TIMEOUT_MS, or when it closed for good. A component is usually
 * started right after its client is made: a client without an offline queue refuses every command until it is
 * connected, and its servers would be reported unchecked for that alone.
 */
async function whenReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready' || client.status === 'end') return;
  if (client.status === 'wait') client.connect().catch(() => undefined); // lazyConnect: a command would connect it too
  let done = (): void => undefined;
  const settled = new Promise<void>((resolve) => {
    done = resolve;
    client.once('ready', done);
    client.once('end', done);
  });
  await settleWithin(settled, CHECK_TIMEOUT_MS, () => undefined);
  client.off('ready', done);
  client.off('end', done);
}

async function read(server: Redis, holds: EvictionCheck['holds']): Promise<EvictionCheck> {
  const name = nameOf(server);
  const [memory, policy] = await Promise.all<unknown>([server.config('GET', 'maxmemory'), server.config('GET', 'maxmemory-policy')]);
  const bytes = valueOf(memory, 'maxmemory');
  const rule = valueOf(policy, 'maxmemory-policy');
  if (bytes === null || rule === null || !/^\d+$/.test(bytes)) return unknown(name, holds, 'CONFIG GET did not return maxmemory and maxmemory-policy');
  const maxmemory = Number(bytes);
  const evicts = maxmemory > 0 && (holds === 'leases' ? rule !== 'noeviction' : rule.startsWith('allkeys-'));
  return { server: name, maxmemory, policy: rule, verdict: evicts ? 'evicting' : 'safe', error: null, holds };
}

/** The value of `name` in a CONFIG GET reply (a flat [name, value] array, or a map in RESP3). */
function valueOf(reply: unknown, name: string): string | null {
  if (Array.isArray(reply)) {
    const at = reply.indexOf(name);
    const value: unknown = at >= 0 ? reply[at + 1] : undefined;
    return typeof value === 'string' ? value : null;
  }
  if (typeof reply === 'object' && reply !== null) {
    const value = (reply as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : null;
  }
  return null;
}

function unknown(server: string, holds: EvictionCheck['holds'], error: string): EvictionCheck {
  return { server, maxmemory: null, policy: null, verdict: 'unknown', error: redactSecrets(error), holds };
}

function nameOf(server: Redis): string {
  return `${server.options.host ?? '127.0.0.1'}:${server.options.port ?? 6379}`;
}
