import type { KeySpace } from '../../src/index.js';

/** `count` resource names (`node-<i>`) that cover every shard of `keys` when count allows, then fill up in order. */
export function resourcesCoveringShards(keys: KeySpace, count: number): string[] {
  const chosen: string[] = [];
  const covered = new Set<number>();
  for (let i = 0; chosen.length < Math.min(count, keys.shards) && i < 100_000; i++) {
    const shard = keys.shardOf(`node-${i}`);
    if (covered.has(shard)) continue;
    covered.add(shard);
    chosen.push(`node-${i}`);
  }
  for (let i = 0; chosen.length < count; i++) {
    if (!chosen.includes(`node-${i}`)) chosen.push(`node-${i}`);
  }
  return chosen;
}
