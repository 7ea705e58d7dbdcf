import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Address } from './topology.js';

/** Client settings that make a dead or unreachable server show up as a quick error, not a hang. */
export const FAIL_FAST_REDIS_OPTIONS = {
  connectTimeout: 1_000,
  maxRetriesPerRequest: 1,
  // Reconnect for a few seconds (long enough to ride out a restart), then give up.
  retryStrategy: (times: number): number | null => (times > 30 ? null : Math.min(times * 50, 200)),
} satisfies RedisOptions;

const ignore = (): void => undefined;

/**
 * Creates an ioredis client for `address` with {@link FAIL_FAST_REDIS_OPTIONS} (overridable).
 * A no-op 'error' listener is attached so expected connection errors in failure tests do not
 * print "Unhandled error event"; commands still reject. The caller must `quit()`/`disconnect()` it.
 */
export function createRedisClient(address: Address, opts: RedisOptions = {}): Redis {
  const client = new Redis({ ...FAIL_FAST_REDIS_OPTIONS, host: address.host, port: address.port, ...opts });
  client.on('error', ignore);
  return client;
}

/**
 * Creates an ioredis Cluster client over `nodes` with quick retries around failovers and a bounded
 * reconnect policy (overridable). Has a no-op 'error' listener like {@link createRedisClient}.
 * The caller must `quit()`/`disconnect()` it.
 */
export function createClusterClient(nodes: Address[], opts: ClusterOptions = {}): Cluster {
  const client = new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    {
      clusterRetryStrategy: (times) => (times > 30 ? null : Math.min(times * 100, 500)),
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 1_000,
      maxRedirections: 16,
      ...opts,
      redisOptions: {
        connectTimeout: FAIL_FAST_REDIS_OPTIONS.connectTimeout,
        maxRetriesPerRequest: FAIL_FAST_REDIS_OPTIONS.maxRetriesPerRequest,
        ...opts.redisOptions,
      },
    },
  );
  client.on('error', ignore);
  return client;
}

/**
 * Subscribes `client` to `channels` once it is ready. ioredis 5.8.2 and later write a SUBSCRIBE sent during the
 * connection handshake straight away, ahead of the ready check's INFO, which the server then refuses in subscriber
 * mode; the client reconnects and comes back "ready" without the subscription (redis/ioredis#2037). A SUBSCRIBE
 * sent before the connection is up waits in the offline queue and one sent once ready goes out at once: both safe.
 */
export async function subscribeWhenReady(client: Redis, ...channels: string[]): Promise<void> {
  if (client.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const ready = (): void => {
        client.off('end', ended);
        resolve();
      };
      const ended = (): void => {
        client.off('ready', ready);
        reject(new Error(`the client closed before it was ready to subscribe to ${channels.join(', ')}`));
      };
      client.once('ready', ready);
      client.once('end', ended);
    });
  }
  await client.subscribe(...channels);
}
