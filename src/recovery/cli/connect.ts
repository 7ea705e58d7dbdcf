import { Redis } from 'ioredis';
import { UnreachableError } from './exit-codes.js';
import { redactUrl } from './redact.js';

/** How long connecting (TCP, TLS, AUTH, ready check) may take before Redis is called unreachable, ms. */
const CONNECT_TIMEOUT_MS = 3_000;

/** How long a graceful close may take before the connection is dropped, ms. */
const CLOSE_TIMEOUT_MS = 2_000;

/** Errors a client met while connecting, kept for the message of `UnreachableError`. */
const lastErrors = new WeakMap<Redis, Error>();

/**
 * A client of the Redis at `url`, not connected yet (see {@link connectRedis}). It fails fast: commands fail after
 * one retry instead of queueing while Redis is down; it reconnects for a while (for `watch`), then gives up.
 */
export function createRedis(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // After a refused connection ioredis waits this long for a close that never comes: keep the CLI from lingering.
    disconnectTimeout: 200,
    retryStrategy: (times) => (times > 30 ? null : Math.min(times * 200, 1_000)),
  });
  // Connection errors are reported by the commands that fail (and by connectRedis); never as "Unhandled error event".
  redis.on('error', (error: Error) => lastErrors.set(redis, error));
  return redis;
}

/**
 * Connects `redis` (made by {@link createRedis} for `url`) within a few seconds, or throws `UnreachableError`
 * naming the redacted URL.
 */
export async function connectRedis(redis: Redis, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS + 500);
      }),
    ]);
  } catch (cause) {
    redis.disconnect();
    const error = lastErrors.get(redis) ?? (cause instanceof Error ? cause : new Error(String(cause)));
    const refused = /NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(error.message);
    throw new UnreachableError(
      refused
        ? `Redis at ${redactUrl(url)} refused the credentials: ${error.message}. Check the user and password in --redis (or $REDIS_URL).`
        : `Redis at ${redactUrl(url)} is unreachable: ${error.message}. Check --redis (or $REDIS_URL) and that the server is up.`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client gracefully (commands already sent complete first), or drops it when that takes too long. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    redis.quit().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  redis.disconnect();
}
