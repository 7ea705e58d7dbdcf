// Metrics through a real OpenTelemetry SDK: the instruments of METRICS move as a conductor acquires, loses and
// recovers, against the shared standalone Redis.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackendError,
  Conductor,
  InvalidOptionError,
  LockManager,
  METRICS,
  MemoryNodeStore,
  RecoveryManager,
  RedisBackend,
  RedisConductorRegistry,
  type LockManagerOptions,
} from 'leasehold';
import { standaloneClient, uniquePrefix } from '../harness/env.js';
import { eventually, sleep, waitFor } from '../support/wait.js';
import { otel } from './otel.js';
import { customBackend } from '../support/custom-backend.js';

const root = resolve(import.meta.dirname, '../..');
let redis: Redis;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  redis = standaloneClient();
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  redis.disconnect();
});

const N = Object.fromEntries(Object.entries(METRICS).map(([key, spec]) => [key, spec.name])) as { [K in keyof typeof METRICS]: string };

/** A node left in `deploying` under a lease nobody heartbeats (a dead holder's), expiring after 300 ms. */
async function deadHolder(prefix: string, nodes: MemoryNodeStore, id: string): Promise<void> {
  await nodes.create({ id, provisionState: 'available' });
  const taken = await new RedisBackend(redis, { prefix }).acquire({ resource: `node:${id}`, token: 't', owner: 'dead', purpose: 'deploy', ttlMs: 300 });
  if (!taken.acquired) throw new Error('not acquired');
  await nodes.transition(id, { from: ['available'], to: 'deploying', fence: taken.fence });
}

describe('metrics', () => {
  it('names every instrument once, with a unit, in the leasehold namespace', () => {
    const names = Object.values(METRICS).map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const spec of Object.values(METRICS)) {
      expect(spec.name).toMatch(/^leasehold\.[a-z_.]+$/);
      expect(spec.unit).toMatch(/^(ms|\{[a-z]+\})$/);
      expect(['counter', 'histogram', 'upDownCounter']).toContain(spec.kind);
    }
    expect(Object.isFrozen(METRICS) && Object.isFrozen(METRICS.leasesHeld)).toBe(true);
  });

  it('move as a conductor acquires, loses and recovers', async () => {
    const sdk = otel();
    cleanup.push(() => sdk.shutdown());
    const prefix = uniquePrefix('metrics');
    const nodes = new MemoryNodeStore();
    const backend = new RedisBackend(redis, { prefix });
    // A TTL with room for a busy machine: a stalled beat must not add a deadline loss to the exact counts below.
    const locks = new LockManager({ backend, ttlMs: 3_000, meter: sdk.meter });
    cleanup.push(() => locks.close());
    // The conductor and the recovery manager take the lock manager's meter when given none of their own.
    const conductor = new Conductor({ id: 'conductor-m', locks, nodes, registry: new RedisConductorRegistry(redis, { prefix }), lockRetry: { attempts: 1 } });
    cleanup.push(() => conductor.stop({ timeoutMs: 0 }));

    // Acquire: the liveness lease, then a node.
    await conductor.start();
    let m = await sdk.collect();
    expect(m.sum(N.conductorsOnline)).toBe(1);
    expect(m.sum(N.leasesHeld, { backend: 'redis' })).toBe(1);
    expect(m.count(N.acquireDuration, { outcome: 'acquired' })).toBe(1);
    expect(m.unit(N.acquireDuration)).toBe('ms');

    await nodes.create({ id: 'n1', provisionState: 'available' });
    const task = await conductor.reserve('n1', { purpose: 'deploy' });
    await task.transition('deploying');
    await eventually<unknown>((done) => locks.once('heartbeat', done), 5_000, 'a heartbeat');
    m = await sdk.collect();
    expect(m.sum(N.leasesHeld, { backend: 'redis' })).toBe(2);
    expect(m.count(N.acquireDuration, { outcome: 'acquired' })).toBe(2);
    expect(m.count(N.heartbeatDuration)).toBeGreaterThanOrEqual(1);

    // Contention: another manager finds n1 held, once without waiting and once after waiting.
    const other = new LockManager({ backend, ttlMs: 3_000, meter: sdk.meter });
    cleanup.push(() => other.close());
    expect(await other.tryAcquire('node:n1', { owner: 'someone' })).toBeNull();
    expect(await other.tryAcquire('node:n1', { owner: 'someone', waitMs: 30 })).toBeNull();
    m = await sdk.collect();
    expect(m.count(N.acquireDuration, { outcome: 'contended' })).toBe(1);
    expect(m.count(N.acquireDuration, { outcome: 'timeout' })).toBe(1);

    // Lose: the conductor's node lease is broken on purpose by its own manager ('forced'); n1 becomes an orphan.
    await locks.breakLease('node:n1', { fence: task.fence });
    m = await sdk.collect();
    expect(m.sum(N.leasesLost, { reason: 'forced' })).toBe(1);
    expect(m.sum(N.forcedBreaks)).toBe(1);
    expect(m.sum(N.leasesHeld, { backend: 'redis' })).toBe(1);
    await task.release();

    // Lose by token mismatch: another manager breaks a lease this one holds; the holder hears it at its heartbeat.
    const held = await locks.acquire('side', { owner: 'conductor-m' });
    await other.breakLease('side', { fence: held.fence });
    await eventually<unknown>((done) => held.once('lost', done), 5_000, 'the lease lost');
    m = await sdk.collect();
    expect(m.sum(N.leasesLost, { reason: 'token-mismatch' })).toBe(1);
    expect(m.sum(N.forcedBreaks)).toBe(2);

    // Recover: a dead holder's node (raw acquire, never heartbeated) and the broken n1, found by a sweep.
    await deadHolder(prefix, nodes, 'n2');
    await sleep(400);
    const recovery = new RecoveryManager({ locks, nodes, sweepIntervalMs: 60_000 });
    cleanup.push(() => recovery.stop());
    await recovery.start();
    await waitFor(() => recovery.counters().recovered === 2, 10_000);
    m = await sdk.collect();
    expect(m.sum(N.orphansDetected, { trigger: 'sweep' })).toBe(2);
    expect(m.sum(N.nodesRecovered, { from_state: 'deploying', to_state: 'deploy failed', trigger: 'sweep' })).toBe(2);
    expect(m.count(N.recoveryLatency, { trigger: 'sweep' })).toBe(2);
    expect(m.max(N.recoveryLatency)).toBeGreaterThanOrEqual(100); // n2 expired at least 100 ms before the sweep
    await recovery.stop();

    // The conductor finds an orphan itself when it reserves the node: trigger "acquire".
    await deadHolder(prefix, nodes, 'n3');
    await sleep(400);
    await conductor.withNode('n3', { purpose: 'deploy' }, () => undefined);
    m = await sdk.collect();
    expect(m.sum(N.orphansDetected, { trigger: 'acquire' })).toBe(1);
    expect(m.sum(N.nodesRecovered, { from_state: 'deploying', to_state: 'deploy failed', trigger: 'acquire' })).toBe(1);

    // Stop: the conductor goes offline, every lease is released.
    await conductor.stop();
    await other.close();
    m = await sdk.collect();
    expect(m.sum(N.conductorsOnline)).toBe(0);
    expect(m.sum(N.leasesHeld)).toBe(0);
    expect(m.attributes(N.leasesLost).map((a) => a.reason).sort()).toEqual(['forced', 'token-mismatch']);
  });

  it('conductors online drops when a conductor loses its liveness lease and comes back when it registers again', async () => {
    const sdk = otel();
    cleanup.push(() => sdk.shutdown());
    const prefix = uniquePrefix('metrics-online');
    const backend = new RedisBackend(redis, { prefix });
    // A TTL with room for a busy machine: a stalled beat must not add a deadline loss to the forced one counted below.
    const locks = new LockManager({ backend, ttlMs: 2_000, meter: sdk.meter });
    const other = new LockManager({ backend, ttlMs: 2_000 });
    cleanup.push(() => locks.close(), () => other.close());
    const conductor = new Conductor({ id: 'conductor-o', locks, nodes: new MemoryNodeStore(), registry: new RedisConductorRegistry(redis, { prefix }) });
    cleanup.push(() => conductor.stop({ timeoutMs: 0 }));
    const record = await conductor.start();
    expect((await sdk.collect()).sum(N.conductorsOnline)).toBe(1);
    await other.breakLease('conductor:conductor-o', { fence: record.fence });
    await eventually<unknown>((done) => conductor.once('livenessLost', done), 5_000, 'liveness lost');
    let m = await sdk.collect();
    expect(m.sum(N.conductorsOnline)).toBe(0);
    expect(m.sum(N.leasesLost, { reason: 'token-mismatch' })).toBe(1);
    await waitFor(() => conductor.record!.fence !== record.fence, 5_000); // registered again
    m = await sdk.collect();
    expect(m.sum(N.conductorsOnline)).toBe(1);
    await conductor.stop();
    expect((await sdk.collect()).sum(N.conductorsOnline)).toBe(0);
  });

  it('counts a lease lost at its deadline when Redis stops answering', async () => {
    const sdk = otel();
    cleanup.push(() => sdk.shutdown());
    const prefix = uniquePrefix('metrics-deadline');
    const backend = new RedisBackend(redis, { prefix });
    // A backend whose heartbeats never answer (each renewal resolves with its timeout error, as a dead Redis's
    // would): the lease can't be confirmed and is lost at its deadline.
    const silent = customBackend(backend, {
      extend: (items, { timeoutMs }) => [
        new Promise((done) => setTimeout(() => done({ indexes: items.map((_, i) => i), renewed: null, error: new BackendError('no answer') }), timeoutMs)),
      ],
    });
    const locks = new LockManager({ backend: silent, ttlMs: 300, meter: sdk.meter });
    locks.on('error', () => undefined); // the unanswered heartbeats
    cleanup.push(() => locks.close());
    const lease = await locks.acquire('r', { owner: 'o' });
    await eventually<unknown>((done) => lease.once('lost', done), 5_000, 'the lease lost');
    const m = await sdk.collect();
    expect(m.sum(METRICS.leasesLost.name, { reason: 'deadline' })).toBe(1);
    expect(m.sum(METRICS.leasesHeld.name)).toBe(0);
  });

  it('records nothing and loads nothing without a meter', async () => {
    // The sources import @opentelemetry/api for types only, so the built package never loads it.
    const lines = (dir: string, ext: RegExp): string[] =>
      readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile() && ext.test(e.name))
        .flatMap((e) => readFileSync(join(e.parentPath, e.name), 'utf8').split('\n').filter((line) => line.includes('@opentelemetry/')))
        .filter((line) => !/^\s*(\*|\/\/)/.test(line)); // TSDoc examples and comments load nothing
    const loads = /from ['"]@opentelemetry|import\(['"]@opentelemetry|require\(['"]@opentelemetry/;
    const sources = lines(join(root, 'src'), /\.ts$/).filter((line) => loads.test(line));
    expect(sources.length).toBeGreaterThan(0);
    for (const line of sources) expect(line).toMatch(/^import type /);
    if (existsSync(join(root, 'dist'))) expect(lines(join(root, 'dist'), /\.(js|cjs)$/)).toEqual([]);
    const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: uniquePrefix('metrics-none') }), ttlMs: 1_000 });
    expect(locks.options.meter).toBeNull();
    await locks.using('r', { owner: 'o' }, () => undefined);
    await locks.close();
  });

  it('refuses a meter that is not a Meter, for each class', () => {
    const backend = new RedisBackend(redis, { prefix: uniquePrefix('metrics-bad') });
    const bad = [{}, { createCounter: () => undefined }, 'meter', null];
    for (const meter of bad) {
      expect(() => new LockManager({ backend, ttlMs: 1_000, meter } as unknown as LockManagerOptions)).toThrow(InvalidOptionError);
    }
    const locks = new LockManager({ backend, ttlMs: 1_000 });
    const nodes = new MemoryNodeStore();
    const registry = new RedisConductorRegistry(redis, { prefix: 'x' });
    expect(() => new Conductor({ id: 'c', locks, nodes, registry, meter: {} as never })).toThrow(/Conductor option meter must be an OpenTelemetry Meter/);
    expect(() => new RecoveryManager({ locks, nodes, meter: { createCounter: 1 } as never })).toThrow(/RecoveryManager option meter must be an OpenTelemetry Meter/);
  });

  it('never lets a meter that throws reach the caller', async () => {
    const throwing = {
      createCounter: () => ({ add: () => { throw new Error('boom'); } }),
      createUpDownCounter: () => ({ add: () => { throw new Error('boom'); } }),
      createHistogram: () => ({ record: () => { throw new Error('boom'); } }),
    };
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: uniquePrefix('metrics-throw') }), ttlMs: 1_000, meter: throwing as never });
      await locks.using('r', { owner: 'o' }, (lease) => expect(lease.state).toBe('held'));
      await locks.close();
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => (w as { code?: string }).code === 'LEASEHOLD_METER_THREW')).toHaveLength(1);
  });
});
