// Mutual exclusion across processes: several contender processes (not promises) take one resource in turns.
// Their log, ordered by Redis, shows no overlap of holders and strictly increasing fences.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { clusterClient, clusterNodes, standalone, standaloneClient, uniquePrefix } from '../harness/env.js';

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const PROCESSES = 4;
const ITERATIONS = 15;

const topologies = [
  { name: 'standalone', env: () => ({ REDIS_URL: `redis://${standalone().host}:${standalone().port}` }), connect: standaloneClient },
  { name: 'cluster', env: () => ({ REDIS_CLUSTER: clusterNodes().map((n) => `${n.host}:${n.port}`).join(',') }), connect: clusterClient },
];

describe.each(topologies)('mutual exclusion on $name', ({ env, connect }) => {
  it(`${PROCESSES} processes × ${ITERATIONS} acquisitions: no overlap, fences strictly increase`, async () => {
    const prefix = uniquePrefix('exclusion');
    const logKey = `${prefix}:{log}`;
    await Promise.all(
      Array.from({ length: PROCESSES }, (_, i) =>
        run(process.execPath, ['--import', 'tsx', '--import', './tools/lua-text.mjs', 'test/fixtures/contender.ts'], {
          cwd: root,
          timeout: 120_000,
          env: { ...process.env, ...env(), PREFIX: prefix, RESOURCE: 'the-node', LOG_KEY: logKey, ID: `p${i}`, ITERATIONS: String(ITERATIONS) },
        }),
      ),
    );
    const redis = connect();
    const log = await redis.lrange(logKey, 0, -1);
    await redis.del(logKey);
    redis.disconnect();

    expect(log).toHaveLength(PROCESSES * ITERATIONS * 2);
    let lastFence = 0;
    const perProcess = new Map<string, number>();
    for (let i = 0; i < log.length; i += 2) {
      const [enter, who, fence] = log[i]!.split(' ');
      expect(enter).toBe('enter');
      expect(log[i + 1]).toBe(`exit ${who} ${fence}`); // the next line is the same holder leaving: no overlap
      expect(Number(fence)).toBeGreaterThan(lastFence);
      lastFence = Number(fence);
      perProcess.set(who!, (perProcess.get(who!) ?? 0) + 1);
    }
    expect([...perProcess.values()]).toEqual(Array(PROCESSES).fill(ITERATIONS));
  });
});
