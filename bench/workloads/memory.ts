// Workload 4: Redis memory per held lease. On a fresh private server per contender: INFO memory used_memory
// before and after holding N leases, divided by N. Also a per-key-type breakdown from MEMORY USAGE.
import type { Redis } from 'ioredis';
import { createContender, type ContenderId, type Release } from '../contenders.js';
import { usedMemory } from '../redis-stats.js';
import { forEachLimited } from '../stats.js';

export interface MemoryOptions {
  readonly leases: number;
  readonly acquireConcurrency: number;
  /** Starts a fresh private server and returns a client factory and a stop function. */
  readonly freshServer: () => Promise<{ client: () => Redis; stop: () => Promise<void> }>;
  readonly log: (line: string) => void;
}

export interface MemoryRun {
  readonly before: number;
  readonly after: number;
  readonly perLease: number;
  /** Keys and MEMORY USAGE bytes by Redis type, e.g. `string: 10000 keys, 720000 B`. */
  readonly breakdown: string;
}

/** Sums `MEMORY USAGE` (all samples) of every key, by key type. */
async function keyBreakdown(client: Redis): Promise<string> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const byType = new Map<string, { keys: number; bytes: number }>();
  for (let start = 0; start < keys.length; start += 1000) {
    const chunk = keys.slice(start, start + 1000);
    const pipeline = client.pipeline();
    for (const key of chunk) {
      pipeline.type(key);
      pipeline.memory('USAGE', key, 'SAMPLES', 0);
    }
    const replies = (await pipeline.exec()) ?? [];
    for (let i = 0; i < chunk.length; i++) {
      const type = String(replies[2 * i]?.[1]);
      const bytes = Number(replies[2 * i + 1]?.[1] ?? 0);
      const entry = byType.get(type) ?? { keys: 0, bytes: 0 };
      entry.keys++;
      entry.bytes += bytes;
      byType.set(type, entry);
    }
  }
  return [...byType].map(([type, { keys: n, bytes }]) => `${type}: ${n} key${n === 1 ? '' : 's'}, ${bytes} B`).join('; ');
}

async function measureOne(id: ContenderId, options: MemoryOptions): Promise<MemoryRun> {
  const server = await options.freshServer();
  try {
    const client = server.client();
    const stats = server.client();
    const contender = await createContender(id, client, `mem-${id}`);
    try {
      // Warm-up (loads scripts, opens connections), then drop its keys: the scripts stay cached.
      await forEachLimited(100, 10, async (i) => void (await (await contender.acquire(`warm-${i}`))()));
      await stats.flushall('SYNC');
      const before = await usedMemory(stats);
      const releases = new Array<Release>(options.leases);
      await forEachLimited(options.leases, options.acquireConcurrency, async (i) => {
        releases[i] = await contender.acquire(`node-${i}`);
      });
      const after = await usedMemory(stats);
      const breakdown = await keyBreakdown(stats);
      await forEachLimited(releases.length, options.acquireConcurrency, (i) => releases[i]!());
      const run = { before, after, perLease: (after - before) / options.leases, breakdown };
      options.log(`  memory ${id}: ${run.perLease.toFixed(1)} B per held lease (${breakdown})`);
      return run;
    } finally {
      await contender.close();
      client.disconnect();
      stats.disconnect();
    }
  } finally {
    await server.stop();
  }
}

/** Measures each contender on its own fresh server, one after the other. */
export async function runMemory(ids: readonly ContenderId[], options: MemoryOptions): Promise<ReadonlyMap<ContenderId, MemoryRun>> {
  const results = new Map<ContenderId, MemoryRun>();
  for (const id of ids) results.set(id, await measureOne(id, options));
  return results;
}
