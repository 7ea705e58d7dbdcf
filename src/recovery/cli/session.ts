import type { Redis } from 'ioredis';
import { LockManager } from '../../lock/lock-manager.js';
import { RedisBackend } from '../../lock/redis/redis-backend.js';
import type { CliArgs } from './args.js';
import { closeRedis, connectRedis, createRedis } from './connect.js';
import type { Output } from './output.js';
import { redactUrl } from './redact.js';

/** What every command uses: a connected client, the deployment's lock backend and a lock manager on it. */
export interface Session {
  readonly redis: Redis;
  readonly prefix: string;
  /** The Redis URL, redacted: safe to print. */
  readonly where: string;
  readonly locks: LockManager;
  /** Closes the lock manager (releasing anything it still holds) and the client. Safe twice. */
  close(): Promise<void>;
}

/**
 * Opens a session: checks the prefix and shards (a bad one exits 2 before anything is connected), then connects
 * (Redis unreachable exits 3). Background failures of the lock manager are printed as warnings.
 */
export async function openSession(args: CliArgs, output: Output): Promise<Session> {
  const redis = createRedis(args.redis);
  let backend: RedisBackend;
  try {
    backend = new RedisBackend(redis, { prefix: args.prefix, shards: args.shards });
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  await connectRedis(redis, args.redis);
  const locks = new LockManager({ backend, ttlMs: args.ttlMs });
  locks.on('error', (error) => output.err(`warning: ${error instanceof Error ? error.message : String(error)}`));
  let closing: Promise<void> | null = null;
  return {
    redis,
    prefix: args.prefix,
    where: redactUrl(args.redis),
    locks,
    close: () =>
      (closing ??= (async () => {
        await locks.close();
        await closeRedis(redis);
      })()),
  };
}
