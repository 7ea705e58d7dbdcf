// orphans() reads each shard's `held` set in pages of 1,000 (scripts/orphans-2.lua). Expired entries of other
// resources are read past, page after page, so that orphans nobody takes again (the liveness leases of conductors
// never restarted, say) never hide the ones asked for; a call reads past at most 20,000 of them per shard, so that
// it never holds the server for long. One shard on a private server, so every entry lies in the one `held` set.
import { describe, expect, it } from 'vitest';
import { LockManager, RedisBackend } from '../../src/index.js';
import { privateServer } from '../support/private-server.js';
import { sleep } from '../support/wait.js';

/** Leaves `resources` orphaned: each acquired with a short TTL, never released (in the order given). */
async function orphan(backend: RedisBackend, resources: readonly string[]): Promise<void> {
  for (let start = 0; start < resources.length; start += 1_000) {
    const granted = await Promise.all(
      resources.slice(start, start + 1_000).map((resource) => backend.acquire({ resource, token: `t-${resource}`, owner: 'dead', purpose: '', ttlMs: 50 })),
    );
    expect(granted.every((g) => g.acquired)).toBe(true);
  }
}

const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);

describe('orphans() reads past other resources in pages, up to a cap per shard (private standalone server)', () => {
  const ctx = privateServer();

  it('finds the orphans asked for behind more than two pages of older orphans of other resources', async () => {
    const backend = new RedisBackend(ctx.redis, { prefix: 'scan-pages', shards: 1 });
    const locks = new LockManager({ backend, ttlMs: 10_000 });
    try {
      await orphan(backend, range('conductor:', 2_500));
      await sleep(20); // the nodes' deadlines come after every conductor's
      await orphan(backend, ['node:a', 'node:b', 'node:c']);
      await sleep(200);

      expect((await locks.orphans({ resourcePrefix: 'node:' })).map((o) => o.resource).sort()).toEqual(['node:a', 'node:b', 'node:c']);
      expect(await locks.orphans({ resourcePrefix: 'node:', limit: 2 })).toHaveLength(2);
      const oldest = await locks.orphans({ limit: 1_500 });
      expect(oldest).toHaveLength(1_500);
      expect(oldest.every((o) => o.resource.startsWith('conductor:'))).toBe(true); // oldest first
      expect(await locks.orphans({ resourcePrefix: 'conductor:', limit: 100_000 })).toHaveLength(2_500);
    } finally {
      await locks.close();
    }
  });

  it('reads past at most 20,000 entries per shard: one more hides the orphan behind them from that call', async () => {
    const backend = new RedisBackend(ctx.redis, { prefix: 'scan-cap', shards: 1 });
    const locks = new LockManager({ backend, ttlMs: 10_000 });
    try {
      const conductors = range('conductor:', 20_000);
      await orphan(backend, conductors);
      await sleep(20);
      await orphan(backend, ['node:late']);
      await sleep(200);

      expect(await locks.orphans({ resourcePrefix: 'node:' })).toEqual([]); // 20,000 read past: the call stops there
      // One conductor's orphan taken and released leaves 19,999 ahead of the node: now it is found.
      await locks.using(conductors[0]!, { owner: 'recovery' }, () => undefined);
      expect((await locks.orphans({ resourcePrefix: 'node:' })).map((o) => o.resource)).toEqual(['node:late']);
    } finally {
      await locks.close();
    }
  });
});
