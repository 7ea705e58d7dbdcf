// Single script calls go out as a bare EVALSHA and fall back to EVAL (with the source) when the server does not know
// the script: a server that never ran it, was restarted, or flushed its script cache. On a private server, so that
// flushing its scripts disturbs no other test.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, LockManager, RedisBackend } from '../../src/index.js';
import { RedisServer } from '../harness/redis-server.js';

function calls(info: string, command: string): number {
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

describe('script calls by SHA, with the source as the fallback (private standalone server)', () => {
  let server: RedisServer;
  let redis: Redis;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = server.client();
    admin = server.client();
  });
  afterAll(async () => {
    redis?.disconnect();
    admin?.disconnect();
    await server?.stop();
  });

  it('sends EVAL once when the server forgot the script, then EVALSHA again', async () => {
    const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: 'scripts' }), ttlMs: 10_000 });
    try {
      await locks.using('warm', { owner: 'a' }, () => undefined);
      await admin.script('FLUSH');
      await admin.config('RESETSTAT');

      const first = await locks.acquire('n1', { owner: 'a' }); // NOSCRIPT, then EVAL with the source
      const second = await locks.acquire('n2', { owner: 'a' }); // known again: EVALSHA only
      expect(second.fence).toBeGreaterThan(0);
      expect(await first.release()).toBe(true);
      expect(await second.release()).toBe(true); // release's script was forgotten too: one more EVAL
      expect((await locks.inspect('n1')).lastHolder?.owner).toBe('a');

      const info = await admin.info('commandstats');
      expect(calls(info, 'eval')).toBe(3); // acquire, release, inspect: once each
      expect(calls(info, 'evalsha')).toBe(5); // the 3 misses, then acquire n2 and release n2
    } finally {
      await locks.close();
    }
  });

  it('a script error that is not NOSCRIPT is not retried: it rejects with a BackendError', async () => {
    const backend = new RedisBackend(redis, { prefix: 'scripts-wrong' });
    await admin.set(backend.keys.heldKey(backend.keys.shardOf('n3')), 'not a sorted set');
    await admin.config('RESETSTAT');
    await expect(backend.acquire({ resource: 'n3', token: 't3', owner: 'a', purpose: '', ttlMs: 10_000 })).rejects.toBeInstanceOf(BackendError);
    const info = await admin.info('commandstats');
    expect(calls(info, 'eval')).toBe(0);
    expect(calls(info, 'evalsha')).toBe(1);
  });
});
