// Single script calls go out as a bare EVALSHA and fall back to EVAL (with the source) when the server does not know
// the script: a server that never ran it, was restarted, or flushed its script cache. On a private server, so that
// flushing its scripts disturbs no other test.
import { describe, expect, it } from 'vitest';
import { BackendError, LockManager, RedisBackend } from '../../src/index.js';
import { privateServer } from '../support/private-server.js';

function calls(info: string, command: string): number {
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

describe('script calls by SHA, with the source as the fallback (private standalone server)', () => {
  const ctx = privateServer();

  it('sends EVAL once when the server forgot the script, then EVALSHA again', async () => {
    const locks = new LockManager({ backend: new RedisBackend(ctx.redis, { prefix: 'scripts' }), ttlMs: 10_000 });
    try {
      await locks.using('warm', { owner: 'a' }, () => undefined);
      await ctx.admin.script('FLUSH');
      await ctx.admin.config('RESETSTAT');

      const first = await locks.acquire('n1', { owner: 'a' }); // NOSCRIPT, then EVAL with the source
      const second = await locks.acquire('n2', { owner: 'a' }); // known again: EVALSHA only
      expect(second.fence).toBeGreaterThan(0);
      expect(await first.release()).toBe(true);
      expect(await second.release()).toBe(true); // release's script was forgotten too: one more EVAL
      expect((await locks.inspect('n1')).lastHolder?.owner).toBe('a');

      const info = await ctx.admin.info('commandstats');
      expect(calls(info, 'eval')).toBe(3); // acquire, release, inspect: once each
      expect(calls(info, 'evalsha')).toBe(5); // the 3 misses, then acquire n2 and release n2
    } finally {
      await locks.close();
    }
  });

  it('a script error that is not NOSCRIPT is not retried: it rejects with a BackendError', async () => {
    const backend = new RedisBackend(ctx.redis, { prefix: 'scripts-wrong' });
    await ctx.admin.set(backend.keys.heldKey(backend.keys.shardOf('n3')), 'not a sorted set');
    await ctx.admin.config('RESETSTAT');
    await expect(backend.acquire({ resource: 'n3', token: 't3', owner: 'a', purpose: '', ttlMs: 10_000 })).rejects.toBeInstanceOf(BackendError);
    const info = await ctx.admin.info('commandstats');
    expect(calls(info, 'eval')).toBe(0);
    expect(calls(info, 'evalsha')).toBe(1);
  });
});
