import { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../../lock/redis/script-set.js';
import type { SentinelAddress } from './args.js';
import { UnreachableError } from './exit-codes.js';
import { redactUrl } from './redact.js';

/** How long connecting (TCP, TLS, AUTH, ready check) may take before Redis is called unreachable, ms. */
const CONNECT_TIMEOUT_MS = 3_000;

/** How long a graceful close may take before the connection is dropped, ms. */
const CLOSE_TIMEOUT_MS = 2_000;

/** Reconnect for a while (for `watch`), then give up. */
const retry = (times: number): number | null => (times > 30 ? null : Math.min(times * 200, 1_000));

/** Options of every connection the CLI opens: fail fast instead of queueing commands while Redis is down. */
const FAIL_FAST = {
  connectTimeout: CONNECT_TIMEOUT_MS,
  maxRetriesPerRequest: 1,
  // After a refused connection ioredis waits this long for a close that never comes: keep the CLI from lingering.
  disconnectTimeout: 200,
} as const;

/** Errors a client met while connecting, kept for the message of `UnreachableError`. */
const lastErrors = new WeakMap<RedisClient, Error>();

/** A Cluster's last error from one of its nodes: its "Failed to refresh slots cache." says less. */
const lastNodeErrors = new WeakMap<RedisClient, Error>();

/** Connection errors are reported by the commands that fail (and by connectRedis); never as "Unhandled error event". */
function remember<T extends RedisClient>(client: T): T {
  client.on('error', (error: Error) => lastErrors.set(client, error));
  client.on('node error', (error: Error) => {
    if (!/^Connection is closed/.test(error.message)) lastNodeErrors.set(client, error);
  });
  return client;
}

/**
 * A client of the Redis at `url`, not connected yet (see {@link connectRedis}). It fails fast: commands fail after
 * one retry instead of queueing while Redis is down; it reconnects for a while (for `watch`), then gives up.
 * `enableOfflineQueue: false` makes every command fail at once while it is not connected, even after a failed
 * {@link connectRedis} (for a quorum master that is down: the others go on).
 */
export function createRedis(url: string, options: { readonly enableOfflineQueue?: boolean } = {}): Redis {
  return remember(new Redis(url, { lazyConnect: true, ...FAIL_FAST, retryStrategy: retry, ...options }));
}

/** The user, password, database and TLS of a `redis://` or `rediss://` URL, as ioredis options. */
function credentialsOf(url: string | null): { username?: string; password?: string; db?: number; tls?: object } {
  if (url === null) return {};
  const parsed = new URL(url);
  const db = Number(parsed.pathname.replace(/^\//, '') || 0);
  return {
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(Number.isSafeInteger(db) && db > 0 ? { db } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * A client of the Redis Cluster that `seeds` (URLs sharing one user and password, checked by the argument parser)
 * belong to, not connected yet. The seeds' credentials and TLS apply to every node of the Cluster.
 */
export function createCluster(seeds: readonly string[]): Cluster {
  const nodes = seeds.map((seed) => {
    const { hostname, port } = new URL(seed);
    return { host: hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(port || 6379) };
  });
  const credentials = credentialsOf(seeds[0] ?? null); // no database: the parser refused one
  return remember(
    new Cluster(nodes, {
      lazyConnect: true,
      clusterRetryStrategy: retry,
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
      redisOptions: { ...FAIL_FAST, ...credentials },
    }),
  );
}

/**
 * A client of the master the sentinels monitor under `name`, not connected yet. `url` (if any) gives the master's
 * user, password, database and TLS (its host and port are not used); the sentinels are asked without credentials.
 */
export function createSentinel(sentinels: readonly SentinelAddress[], name: string, url: string | null): Redis {
  const credentials = credentialsOf(url);
  return remember(
    new Redis({
      sentinels: sentinels.map(({ host, port }) => ({ host, port })),
      name,
      lazyConnect: true,
      ...FAIL_FAST,
      ...credentials,
      ...(credentials.tls ? { enableTLSForSentinelMode: true } : {}),
      retryStrategy: retry,
      sentinelRetryStrategy: retry,
    }),
  );
}

/** What a client is for messages: its redacted address, and the options that name it (for "Check ..."). */
export interface Target {
  /** E.g. `Redis at redis://:***@host:6379`: never holds a password. */
  readonly what: string;
  /** E.g. `--redis (or $REDIS_URL)`. */
  readonly options: string;
}

/** The target of a standalone Redis at `url`. */
export function redisTarget(url: string, options = '--redis (or $REDIS_URL)'): Target {
  return { what: `Redis at ${redactUrl(url)}`, options };
}

/**
 * Connects `client` (made by one of the `create*` functions) within a few seconds, or throws `UnreachableError`
 * naming the redacted target.
 */
export async function connectRedis(client: RedisClient, target: Target): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS + 500);
      }),
    ]);
  } catch (cause) {
    client.disconnect();
    const error = lastNodeErrors.get(client) ?? lastErrors.get(client) ?? (cause instanceof Error ? cause : new Error(String(cause)));
    const refused = /NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(error.message);
    const message = error.message.replace(/\.$/, '');
    throw new UnreachableError(
      refused
        ? `${target.what} refused the credentials: ${message}. Check the user and password in ${target.options}.`
        : `${target.what} is unreachable: ${message}. Check ${target.options} and that the server is up.`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects a Cluster client (made by {@link createCluster}) like {@link connectRedis}. ioredis only says "Failed to
 * refresh slots cache" when no seed answers; the first seed is then asked directly, so that the message says why
 * (refused, timed out, wrong password, cluster support disabled).
 */
export async function connectCluster(cluster: Cluster, seeds: readonly string[], target: Target): Promise<void> {
  try {
    await connectRedis(cluster, target);
  } catch (error) {
    const probe = createRedis(seeds[0]!);
    try {
      await connectRedis(probe, target);
      await probe.call('CLUSTER', 'INFO');
    } catch (reason) {
      if (reason instanceof UnreachableError) throw reason;
      throw new UnreachableError(`${target.what} is unusable: ${reason instanceof Error ? reason.message : String(reason)}. Check ${target.options} and that it is a Cluster.`, {
        cause: reason,
      });
    } finally {
      probe.disconnect();
    }
    throw error;
  }
}

/** Closes a client gracefully (commands already sent complete first), or drops it when that takes too long. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  client.disconnect();
}
