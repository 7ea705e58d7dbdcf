// Structured logs through an injected logger: the right levels and fields for lost leases, recoveries and
// heartbeats; pino and console both fit the Logger interface; no URL password ever reaches a line.
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  BackendError,
  Conductor,
  InvalidOptionError,
  LockManager,
  MemoryNodeStore,
  RecoveryManager,
  RedisBackend,
  RedisConductorRegistry,
  redactSecrets,
  type Logger,
  type LogLevel,
} from 'leasehold';
import { standaloneClient, uniquePrefix } from '../harness/env.js';
import { eventually, sleep, waitFor } from '../support/wait.js';
import { customBackend } from '../support/custom-backend.js';

let redis: Redis;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  redis = standaloneClient();
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  redis.disconnect();
});

interface Line {
  level: LogLevel;
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps every line. */
class RecordingLogger implements Logger {
  readonly lines: Line[] = [];
  debug(fields: object, message: string): void {
    this.lines.push({ level: 'debug', fields: { ...fields }, message });
  }
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', fields: { ...fields }, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields: { ...fields }, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', fields: { ...fields }, message });
  }
  find(level: LogLevel, text: string | RegExp): Line[] {
    return this.lines.filter((l) => l.level === level && (typeof text === 'string' ? l.message.includes(text) : text.test(l.message)));
  }
}

/** A dead holder's node: in `deploying` under a lease nobody heartbeats, expiring after 300 ms. */
async function deadHolder(prefix: string, nodes: MemoryNodeStore, id: string): Promise<number> {
  await nodes.create({ id, provisionState: 'available' });
  const taken = await new RedisBackend(redis, { prefix }).acquire({ resource: `node:${id}`, token: 't', owner: 'dead', purpose: 'deploy', ttlMs: 300 });
  if (!taken.acquired) throw new Error('not acquired');
  await nodes.transition(id, { from: ['available'], to: 'deploying', fence: taken.fence });
  return taken.fence;
}

describe('redactSecrets', () => {
  it.each([
    ['redis://:hunter2@10.0.0.5:6379', 'redis://:***@10.0.0.5:6379'],
    ['rediss://admin:hunter2@redis.internal:6380/0', 'rediss://admin:***@redis.internal:6380/0'],
    ['connect to redis://u:p%40ss@h:1 failed; retry redis://v:x@h:2', 'connect to redis://u:***@h:1 failed; retry redis://v:***@h:2'],
    ['postgres://app:s3cret@db/x?sslmode=require', 'postgres://app:***@db/x?sslmode=require'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['redis://user@host:6379', 'redis://user@host:6379'],
    ['no url here: a:b@c', 'no url here: a:b@c'],
    ['', ''],
  ])('%s', (input, redacted) => {
    expect(redactSecrets(input)).toBe(redacted);
  });
});

describe('Logger', () => {
  it('is satisfied by a pino logger and by console', () => {
    const fromPino: Logger = pino({ level: 'silent' });
    const child: Logger = pino({ level: 'silent' }).child({ service: 'conductor' });
    const fromConsole: Logger = console;
    expectTypeOf(fromPino).toMatchTypeOf<Logger>();
    expectTypeOf(child).toMatchTypeOf<Logger>();
    expectTypeOf(fromConsole).toMatchTypeOf<Logger>();
    expectTypeOf<{ info: (fields: object, message: string) => void }>().not.toMatchTypeOf<Logger>();
  });

  it('refuses a logger without the four methods, for each class', () => {
    const backend = new RedisBackend(redis, { prefix: uniquePrefix('log-bad') });
    for (const logger of [{}, { debug() {}, info() {}, warn() {} }, 'console', null]) {
      expect(() => new LockManager({ backend, ttlMs: 1_000, logger: logger as never })).toThrow(InvalidOptionError);
    }
    const locks = new LockManager({ backend, ttlMs: 1_000 });
    const nodes = new MemoryNodeStore();
    expect(() => new Conductor({ id: 'c', locks, nodes, registry: new RedisConductorRegistry(redis, { prefix: 'x' }), logger: {} as never })).toThrow(
      /Conductor option logger must have methods debug, info, warn, error/,
    );
    expect(() => new RecoveryManager({ locks, nodes, logger: { info: 1 } as never })).toThrow(/RecoveryManager option logger must have methods/);
  });
});

describe('log lines', () => {
  it('lost leases warn, with resource, owner and fence; heartbeats, acquisitions and releases are debug', async () => {
    const log = new RecordingLogger();
    const prefix = uniquePrefix('log-lost');
    const backend = new RedisBackend(redis, { prefix });
    // A TTL with room for a busy machine: a stalled beat must not add a 'deadline' loss to the reasons below.
    const locks = new LockManager({ backend, ttlMs: 3_000, logger: log });
    const other = new LockManager({ backend, ttlMs: 3_000 });
    cleanup.push(() => locks.close(), () => other.close());

    const lease = await locks.acquire('node:a', { owner: 'conductor-a', purpose: 'deploy' });
    expect(log.find('debug', 'acquired "node:a"')[0]?.fields).toMatchObject({ resource: 'node:a', owner: 'conductor-a', fence: lease.fence, purpose: 'deploy' });
    await eventually<unknown>((done) => locks.once('heartbeat', done), 5_000, 'a heartbeat');
    expect(log.find('debug', 'heartbeat')[0]?.fields).toMatchObject({ leases: 1, renewed: 1, lost: 0 });
    expect(log.find('debug', 'heartbeat')[0]?.fields.durationMs).toEqual(expect.any(Number));

    // Broken by another manager: the holder finds its token gone at the next heartbeat.
    await other.breakLease('node:a', { fence: lease.fence });
    await eventually<unknown>((done) => lease.once('lost', done), 5_000, 'the lease lost');
    const [lost] = log.find('warn', 'lost the lease');
    expect(lost?.fields).toEqual({ resource: 'node:a', owner: 'conductor-a', fence: lease.fence, reason: 'token-mismatch' });

    // Broken on purpose by its own manager: the break itself warns, and so does the loss.
    const again = await locks.acquire('node:b', { owner: 'conductor-a' });
    await locks.breakLease('node:b', { fence: again.fence });
    expect(log.find('warn', 'broke the live lease')[0]?.fields).toMatchObject({ resource: 'node:b', owner: 'conductor-a', fence: again.fence });
    expect(log.find('warn', 'lost the lease').map((l) => l.fields.reason)).toEqual(['token-mismatch', 'forced']);

    const third = await locks.acquire('node:c', { owner: 'conductor-a' });
    await third.release();
    expect(log.find('debug', 'released "node:c"')[0]?.fields).toEqual({ resource: 'node:c', owner: 'conductor-a', fence: third.fence, deleted: true });
    // Nothing at info or above came from routine work.
    expect(log.lines.filter((l) => l.level === 'info' || l.level === 'error')).toEqual([]);
  });

  it('recoveries are info with the node id; conductor lines carry the conductor id', async () => {
    const log = new RecordingLogger();
    const prefix = uniquePrefix('log-recover');
    const nodes = new MemoryNodeStore();
    const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: 1_000, logger: log });
    cleanup.push(() => locks.close());
    const deadFence = await deadHolder(prefix, nodes, 'n1');
    await sleep(400);
    const recovery = new RecoveryManager({ locks, nodes, sweepIntervalMs: 60_000, id: 'r1' });
    cleanup.push(() => recovery.stop());
    await recovery.start();
    await waitFor(() => recovery.counters().recovered === 1, 10_000);
    const [recovered] = log.find('info', 'recovered');
    expect(recovered?.fields).toMatchObject({
      manager: 'recovery:r1',
      nodeId: 'n1',
      from: 'deploying',
      to: 'deploy failed',
      owner: 'dead',
      previousFence: deadFence,
      trigger: 'sweep',
    });
    expect(recovered?.fields.latencyMs).toBeGreaterThanOrEqual(100);
    expect(log.find('info', /was held by "dead"/)[0]?.fields).toMatchObject({ manager: 'recovery:r1', nodeId: 'n1', trigger: 'sweep' });
    await recovery.stop();

    // A conductor: its own logger, its id on every line it writes.
    const clog = new RecordingLogger();
    const conductor = new Conductor({ id: 'conductor-l', locks, nodes, registry: new RedisConductorRegistry(redis, { prefix }), logger: clog });
    cleanup.push(() => conductor.stop({ timeoutMs: 0 }));
    await conductor.start();
    await deadHolder(prefix, nodes, 'n2');
    await sleep(400);
    await conductor.withNode('n2', { purpose: 'deploy' }, () => undefined);
    await conductor.stop();
    expect(clog.lines.length).toBeGreaterThan(0);
    for (const line of clog.lines) expect(line.fields.conductorId).toBe('conductor-l');
    expect(clog.find('info', 'conductor started')).toHaveLength(1);
    expect(clog.find('info', 'recovered')[0]?.fields).toMatchObject({ nodeId: 'n2', from: 'deploying', to: 'deploy failed', owner: 'dead', trigger: 'acquire' });
    expect(clog.find('info', 'conductor stopped')).toHaveLength(1);
  });

  it('background errors are error lines, and no URL password reaches any line', async () => {
    const log = new RecordingLogger();
    const prefix = uniquePrefix('log-redact');
    const backend = new RedisBackend(redis, { prefix });
    // Heartbeats fail with an error whose message holds a URL with a password, as a client library might say.
    const leaky = customBackend(backend, {
      extend: (items) => [
        Promise.resolve({ indexes: items.map((_, i) => i), renewed: null, error: new BackendError('connect to redis://admin:hunter2@redis.internal:6379 failed') }),
      ],
    });
    const locks = new LockManager({ backend: leaky, ttlMs: 300, logger: log });
    locks.on('error', () => undefined);
    cleanup.push(() => locks.close());
    const lease = await locks.acquire('r', { owner: 'o' });
    await eventually<unknown>((done) => lease.once('lost', done), 5_000, 'the lease lost');
    const errors = log.find('error', 'background failure');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]?.fields.error).toEqual({ name: 'BackendError', code: 'BACKEND_ERROR', message: 'connect to redis://admin:***@redis.internal:6379 failed' });
    // The loss at the deadline names the failure that caused it, redacted too.
    expect(log.find('warn', 'lost the lease')[0]?.fields).toMatchObject({ resource: 'r', owner: 'o', fence: lease.fence, reason: 'deadline' });
    expect(JSON.stringify(log.lines)).not.toContain('hunter2');
  });

  it('writes structured JSON through a real pino logger', async () => {
    const out: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) out.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const prefix = uniquePrefix('log-pino');
    const backend = new RedisBackend(redis, { prefix });
    const locks = new LockManager({ backend, ttlMs: 1_000, logger: pino({ level: 'debug' }, sink) });
    cleanup.push(() => locks.close());
    const lease = await locks.acquire('node:p', { owner: 'conductor-p' });
    await locks.breakLease('node:p', { fence: lease.fence });
    await waitFor(() => out.some((l) => l.msg === 'lost the lease on "node:p" (forced)'), 2_000);
    expect(out.find((l) => l.msg === 'lost the lease on "node:p" (forced)')).toMatchObject({ level: 40, resource: 'node:p', owner: 'conductor-p', fence: lease.fence, reason: 'forced' });
    expect(out.find((l) => String(l.msg).startsWith('acquired'))).toMatchObject({ level: 20, resource: 'node:p' });
  });

  it('works with console, and a logger that throws never breaks the lock manager', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    try {
      const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: uniquePrefix('log-console') }), ttlMs: 1_000, logger: console });
      const lease = await locks.acquire('node:q', { owner: 'o' });
      await locks.breakLease('node:q', { fence: lease.fence });
      expect(warn).toHaveBeenCalledWith(expect.objectContaining({ resource: 'node:q', owner: 'o', reason: 'forced' }), 'lost the lease on "node:q" (forced)');
      expect(debug).toHaveBeenCalledWith(expect.objectContaining({ resource: 'node:q', owner: 'o', fence: lease.fence }), 'acquired "node:q"');
      await locks.close();
    } finally {
      warn.mockRestore();
      debug.mockRestore();
    }
    const throwing: Logger = { debug: () => { throw new Error('disk full'); }, info: () => undefined, warn: () => undefined, error: () => undefined };
    const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: uniquePrefix('log-throw') }), ttlMs: 1_000, logger: throwing });
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      await locks.using('r', { owner: 'o' }, (lease) => expect(lease.state).toBe('held'));
      await locks.using('r', { owner: 'o' }, (lease) => expect(lease.state).toBe('held'));
      await locks.close();
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => (w as { code?: string }).code === 'LEASEHOLD_LOGGER_THREW')).toHaveLength(1);
  });
});
