import type { LockBackend } from '../../lock/backend.js';
import { InvalidOptionError } from '../../lock/errors.js';
import { LockManager } from '../../lock/lock-manager.js';
import { QuorumBackend } from '../../lock/quorum/quorum-backend.js';
import { RedisBackend } from '../../lock/redis/redis-backend.js';
import type { RedisClient } from '../../lock/redis/script-set.js';
import type { CliArgs, Topology } from './args.js';
import { closeRedis, connectCluster, connectRedis, createCluster, createRedis, createSentinel, redisTarget, type Target } from './connect.js';
import { UnreachableError, UsageError } from './exit-codes.js';
import type { Output } from './output.js';
import { redactUrl } from './redact.js';

/** What every command uses: a connected client, the deployment's lock backend and a lock manager on it. */
export interface Session {
  /**
   * The client of the node store (`--store redis`), the conductor registry and the event streams: the Redis, the
   * Cluster or the Sentinel master; in quorum mode the `--redis` one (default: the first master).
   */
  readonly redis: RedisClient;
  /** The topology connected to. */
  readonly topology: Topology['kind'];
  readonly prefix: string;
  /** Where the session is connected, redacted: safe to print (after "Redis "). */
  readonly where: string;
  readonly locks: LockManager;
  /** Closes the lock manager (releasing anything it still holds) and the clients. Safe twice. */
  close(): Promise<void>;
}

/** The clients of a topology before they connect, and the lock backend on them. */
interface Opened {
  readonly redis: RedisClient;
  /** Every client, `redis` included once. */
  readonly clients: readonly RedisClient[];
  readonly backend: LockBackend;
  readonly where: string;
  /** Connects the clients, or throws `UnreachableError`. */
  connect(output: Output): Promise<void>;
}

/**
 * Opens a session: checks the prefix, shards and (in quorum mode) masters (a bad one exits 2 before anything is
 * connected), then connects (Redis unreachable exits 3). Background failures of the lock manager are printed as
 * warnings.
 */
export async function openSession(args: CliArgs, output: Output): Promise<Session> {
  const opened = open(args);
  try {
    await opened.connect(output);
  } catch (error) {
    for (const client of opened.clients) client.disconnect();
    throw error;
  }
  const locks = new LockManager({ backend: opened.backend, ttlMs: args.ttlMs });
  locks.on('error', (error) => output.err(`warning: ${error instanceof Error ? error.message : String(error)}`));
  let closing: Promise<void> | null = null;
  return {
    redis: opened.redis,
    topology: args.topology.kind,
    prefix: args.prefix,
    where: opened.where,
    locks,
    close: () =>
      (closing ??= (async () => {
        await locks.close();
        await Promise.all(opened.clients.map((client) => closeRedis(client)));
      })()),
  };
}

/** Creates the clients and the lock backend of `args.topology`; nothing connects yet. */
function open(args: CliArgs): Opened {
  const options = { prefix: args.prefix, shards: args.shards };
  const { topology } = args;
  const clients: RedisClient[] = [];
  try {
    switch (topology.kind) {
      case 'standalone': {
        const redis = createRedis(topology.url);
        clients.push(redis);
        return single(redis, new RedisBackend(redis, options), redactUrl(topology.url), redisTarget(topology.url));
      }
      case 'cluster': {
        const redis = createCluster(topology.seeds);
        clients.push(redis);
        const seeds = topology.seeds.map(redactUrl).join(',');
        const target = { what: `Redis Cluster via ${seeds}`, options: '--redis (or $REDIS_URL) with --cluster' };
        const backend = new RedisBackend(redis, options);
        return { redis, clients, backend, where: `Cluster via ${seeds}`, connect: () => connectCluster(redis, topology.seeds, target) };
      }
      case 'sentinel': {
        const redis = createSentinel(topology.sentinels, topology.master, topology.url);
        clients.push(redis);
        const where = `master "${topology.master}" via Sentinel ${topology.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
        return single(redis, new RedisBackend(redis, options), where, { what: `Redis ${where}`, options: '--sentinel, --master and --redis (or $REDIS_URL)' });
      }
      case 'quorum':
        return quorum(topology, options, clients);
    }
  } catch (error) {
    for (const client of clients) client.disconnect();
    throw error;
  }
}

function single(redis: RedisClient, backend: LockBackend, where: string, target: Target): Opened {
  return { redis, clients: [redis], backend, where, connect: () => connectRedis(redis, target) };
}

/**
 * Quorum mode: leases on a `QuorumBackend` over the masters; the node store, registry and event streams on
 * `topology.url`, which may be one of them. Goes on with a majority of the masters (printing a warning for each
 * one that is down), as the services do; fewer, or the Redis of the node store down, exits 3.
 */
function quorum(topology: Extract<Topology, { kind: 'quorum' }>, options: { prefix: string; shards: number }, clients: RedisClient[]): Opened {
  // No offline queue: a master that is down (or failed to connect) fails each call at once, as QuorumBackend expects.
  const masters = topology.masters.map((url) => createRedis(url, { enableOfflineQueue: false }));
  clients.push(...masters);
  let backend: QuorumBackend;
  try {
    backend = new QuorumBackend(masters, options);
  } catch (error) {
    // Too few, an even number, or the same server twice: the command line's fault.
    if (error instanceof InvalidOptionError) throw new UsageError(`--quorum: ${error.message}`, { cause: error });
    throw error;
  }
  // A client of its own even when it is a master's: `watch` duplicates it, and needs its offline queue.
  const redis = createRedis(topology.url);
  clients.push(redis);
  const data = redactUrl(topology.url);
  const names = topology.masters.map(redactUrl);
  return {
    redis,
    clients,
    backend,
    where: `quorum of ${names.join(',')}; nodes, registry and events on ${data}`,
    async connect(output) {
      const dataOptions = '--redis (or $REDIS_URL; in quorum mode the default is the first --quorum master)';
      const [answers, dataError] = await Promise.all([
        Promise.allSettled(masters.map((master, i) => connectRedis(master, redisTarget(topology.masters[i]!, '--quorum')))),
        connectRedis(redis, redisTarget(topology.url, dataOptions)).then(
          () => null,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        ),
      ]);
      const failed = answers.flatMap((a) => (a.status === 'rejected' ? [a.reason as unknown] : []));
      const messages = failed.map((e) => (e instanceof Error ? e.message : String(e)));
      if (masters.length - failed.length < backend.quorum) {
        throw new UnreachableError(
          `Quorum mode needs a majority of the --quorum masters (${backend.quorum} of ${masters.length}); ${failed.length} unreachable: ${messages.join(' ')}`,
          { cause: failed[0] },
        );
      }
      if (dataError !== null) throw dataError; // the node store, registry and events are there
      for (const message of messages) output.err(`warning: ${message} Going on with a majority of the masters.`);
    },
  };
}
