// Loss is loud: when Redis stops answering (paused, killed, CLIENT PAUSE) or the holder's own event loop stalls,
// the lease is reported lost no later than its local validity deadline, exactly once, and nothing throws into
// the process. Each test owns a private redis-server, since it breaks it.
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, LeaseLostError, LockManager, ManagerClosedError, RedisBackend, type Lease } from '../../src/index.js';
import { RedisServer } from '../harness/redis-server.js';
import { sleep, waitFor } from '../support/wait.js';

/**
 * How much later than a plain timer set for the same moment the library may act. Its own timers fire in the same
 * turn of the event loop as such a timer: comparing with one, not with the wall clock, cancels out a stall of this
 * process (a busy machine delays both alike).
 */
const TIMER_SLACK_MS = 100;

/** A plain timer for the monotonic time `at`: `firedAt` is when it fired (0 until then). Cleared after the test. */
function timerAt(at: number): { firedAt: number } {
  const control = { firedAt: 0 };
  const timer = setTimeout(() => (control.firedAt = performance.now()), Math.max(0, at - performance.now()));
  cleanups.push(() => clearTimeout(timer));
  return control;
}

/** `seen`'s lease was lost at its deadline: not before it, and no later than a plain timer for it fired. */
async function expectLostAtDeadline(seen: ReturnType<typeof track>): Promise<void> {
  expect(seen.lostAt).toBeGreaterThanOrEqual(seen.deadline - 5); // never before the deadline
  await waitFor(() => seen.control.firedAt > 0, 5_000);
  expect(seen.lostAt - seen.control.firedAt).toBeLessThan(TIMER_SLACK_MS); // and not long after it
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(ttlMs = 600, heartbeatMs = 200) {
  const server = await RedisServer.start();
  cleanups.push(() => server.stop());
  const redis = server.client({ maxRetriesPerRequest: null, retryStrategy: () => 50 });
  cleanups.push(() => redis.disconnect());
  const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: 'loss' }), ttlMs, heartbeatMs });
  cleanups.push(() => locks.close().catch(() => undefined));
  const errors: unknown[] = [];
  locks.on('error', (error) => errors.push(error));
  return { server, redis, locks, errors };
}

/** Tracks a lease's latest local deadline (monotonic ms) and when it was lost. */
function track(lease: Lease) {
  const deadline = performance.now() + lease.remainingMs;
  const seen = { deadline, control: timerAt(deadline), lostAt: 0, losses: [] as LeaseLostError[], extendedAfterLoss: 0 };
  lease.on('extended', () => {
    if (seen.lostAt) seen.extendedAfterLoss++;
    seen.deadline = performance.now() + lease.remainingMs;
    seen.control = timerAt(seen.deadline);
  });
  lease.on('lost', (error) => {
    seen.lostAt = performance.now();
    seen.losses.push(error);
  });
  return seen;
}

describe('loss is loud', () => {
  it('Redis paused (SIGSTOP): lost by the local deadline, reason deadline, once', async () => {
    const { server, locks, errors } = await setup();
    const lease = await locks.acquire('node-1', { owner: 'a' });
    const seen = track(lease);
    await sleep(300); // a renewal or two
    server.pause();
    const pausedAt = performance.now();
    await waitFor(() => seen.lostAt > 0, 3_000);
    expect(seen.losses).toHaveLength(1);
    expect(seen.losses[0]).toMatchObject({ code: 'LEASE_LOST', reason: 'deadline' });
    expect(lease.signal.reason).toBe(seen.losses[0]);
    await expectLostAtDeadline(seen);
    expect(seen.deadline - pausedAt).toBeLessThanOrEqual(600); // the deadline of a renewal sent before the pause
    server.resume();
    await sleep(400); // a late reply to the stalled beat must not revive the lease
    expect(errors.length).toBeGreaterThan(0); // the heartbeat that got no answer in time was reported
    expect(lease.state).toBe('lost');
    expect(seen.extendedAfterLoss).toBe(0);
    expect(seen.losses).toHaveLength(1);
  });

  it('Redis killed: lost by the deadline; after an empty restart fences still grow', async () => {
    const { server, locks } = await setup();
    const lease = await locks.acquire('node-2', { owner: 'a' });
    const seen = track(lease);
    await server.kill();
    await waitFor(() => seen.lostAt > 0, 3_000);
    expect(seen.losses[0]?.reason).toBe('deadline');
    await expectLostAtDeadline(seen);

    await server.restart(); // no persistence: every key, every fence counter is gone
    const next = await locks.acquire('node-2', { owner: 'b', waitMs: 5_000 });
    expect(next.fence).toBeGreaterThan(lease.fence);
    expect(next.previous).toBeNull(); // Redis forgot the dead lease; fencing still holds
    await next.release();
  });

  it('CLIENT PAUSE past the TTL: lost by the deadline', async () => {
    const { server, locks } = await setup();
    const lease = await locks.acquire('node-3', { owner: 'a' });
    const seen = track(lease);
    await server.clientPause(1_500);
    await waitFor(() => seen.lostAt > 0, 3_000);
    expect(seen.losses[0]?.reason).toBe('deadline');
    await expectLostAtDeadline(seen);
  });

  it('a stall longer than a heartbeat but shorter than the validity loses nothing', async () => {
    const { server, locks } = await setup(1_500, 500);
    const lease = await locks.acquire('node-6', { owner: 'a' });
    const seen = track(lease);
    await new Promise((resolve) => locks.once('heartbeat', resolve));
    await server.clientPause(800); // the next beat waits for Redis instead of giving up
    await sleep(2_000);
    expect(lease.state).toBe('held');
    expect(seen.losses).toHaveLength(0);
  });

  it('extend() to a shorter TTL shortens the local deadline before Redis answers', async () => {
    const { server, locks } = await setup(10_000, 1_000);
    const lease = await locks.acquire('node-7', { owner: 'a' });
    const seen = track(lease);
    server.pause(); // Redis may or may not apply the shorter TTL; the holder must assume it did
    const sentAt = performance.now();
    const extending = lease.extend(2_000).catch((error: unknown) => error);
    const shorter = timerAt(sentAt + 2_000);
    await waitFor(() => seen.lostAt > 0, 5_000);
    await waitFor(() => shorter.firedAt > 0, 5_000);
    expect(seen.lostAt - shorter.firedAt).toBeLessThan(TIMER_SLACK_MS); // by the shorter deadline, not the old 10 s one
    expect(await extending).toBeInstanceOf(LeaseLostError);
    server.resume();
  });

  // A renewal to `first` ms is sent and answered, but its answer is read only after extend(`second`) was sent; that
  // one gets no answer in time (Redis is paused). Redis runs the calls in the order sent, so once it resumes the
  // shorter TTL is the one it keeps: the holder must not believe the earlier renewal's longer deadline, whether the
  // shorter one falls below the local deadline of the moment or above it (and below the earlier renewal's).
  it.each([
    { name: 'below the local deadline', ttlMs: 10_000, heartbeatMs: 1_500, first: 10_000, second: 2_000 },
    { name: 'above the local deadline, below the earlier renewal\'s', ttlMs: 4_000, heartbeatMs: 3_000, first: 8_000, second: 4_000 },
  ])('an earlier renewal answered after a shorter extend() was sent does not undo it: $name', async ({ ttlMs, heartbeatMs, first, second }) => {
    // Heartbeats far apart: a beat sent in the window would shrink the deadline by itself and hide the bug.
    const { server, locks } = await setup(ttlMs, heartbeatMs);
    const lease = await locks.acquire('node-9', { owner: 'a' });
    const seen = track(lease);
    let renewedAt = 0;
    const renewing = lease.extend(first).then(() => (renewedAt = performance.now()));
    const answered = performance.now() + 400;
    while (performance.now() < answered); // the event loop held: Redis answers meanwhile, the answer waits unread
    server.pause();
    cleanups.push(() => server.resume());
    const sentAt = performance.now();
    const shortening = lease.extend(second).catch((error: unknown) => error);
    const shorter = timerAt(sentAt + second);
    await renewing;
    expect(renewedAt - sentAt).toBeLessThan(500); // the earlier answer was read first, as the scenario needs
    // No answer in time: it rejects (lost, or a timeout when the lease is still valid until its own deadline).
    const refused = await shortening;
    expect(refused instanceof LeaseLostError || refused instanceof BackendError, String(refused)).toBe(true);
    await waitFor(() => seen.lostAt > 0, second + 5_000);
    expect(seen.losses).toHaveLength(1);
    await waitFor(() => shorter.firedAt > 0, 5_000);
    expect(seen.lostAt - shorter.firedAt).toBeLessThan(TIMER_SLACK_MS); // by the shorter deadline, not the earlier one's
    server.resume();
    await waitFor(async () => (await locks.inspect('node-9')).holder === null, second + 3_000); // Redis applied it
    expect(lease.state).toBe('lost');
  });

  it('an aborted acquire stops waiting for a Redis that does not answer, and gives back the grant that comes later', async () => {
    const { server, locks } = await setup(2_000, 500);
    server.pause();
    cleanups.push(() => server.resume());
    const aborted = timerAt(performance.now() + 300);
    await expect(locks.acquire('node-10', { owner: 'a', signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const rejectedAt = performance.now();
    await waitFor(() => aborted.firedAt > 0, 5_000);
    expect(rejectedAt - aborted.firedAt).toBeLessThan(TIMER_SLACK_MS); // at the abort, not held until Redis answers
    let closed = false;
    const closing = locks.close().then(() => (closed = true));
    await sleep(300);
    expect(closed).toBe(false); // close() waits for the grant in flight to be given back
    server.resume(); // Redis now runs the acquire: it is granted to nobody who wants it, then released
    await closing;
    const redis = server.client();
    cleanups.push(() => redis.disconnect());
    const reader = new LockManager({ backend: new RedisBackend(redis, { prefix: 'loss' }), ttlMs: 2_000 });
    const info = await reader.inspect('node-10');
    expect(info.holder).toBeNull();
    expect(info.orphan).toBeNull(); // released as soon as the answer came, not left to expire
    expect(info.lastHolder).toMatchObject({ owner: 'a' });
    expect((await locks.health()).leasesHeld).toBe(0);
  });

  it('close() waits for an acquire still waiting for Redis, and gives its grant back before it resolves', async () => {
    const { server, locks } = await setup(2_000, 500);
    server.pause();
    cleanups.push(() => server.resume());
    const acquiring = locks.acquire('node-11', { owner: 'a' }).catch((error: unknown) => error);
    await sleep(100); // the acquire is on the wire
    let closed = false;
    const closing = locks.close().then(() => (closed = true));
    await sleep(300);
    // Had close() resolved now, its caller could disconnect or exit: the grant would then stay in Redis for a TTL
    // with no heartbeat, then turn into an orphan of "a" for recovery.
    expect(closed).toBe(false);
    server.resume(); // Redis now runs the acquire: the grant goes to a closed manager and is given back
    await closing;
    expect(await acquiring).toBeInstanceOf(ManagerClosedError);
    const redis = server.client();
    cleanups.push(() => redis.disconnect());
    const info = await new LockManager({ backend: new RedisBackend(redis, { prefix: 'loss' }), ttlMs: 2_000 }).inspect('node-11');
    expect(info.holder).toBeNull();
    expect(info.orphan).toBeNull();
    expect(info.lastHolder).toMatchObject({ owner: 'a' });
  });

  it('heartbeats keep the TTL extend() set', async () => {
    const { locks } = await setup(600, 150);
    const lease = await locks.acquire('node-8', { owner: 'a' });
    await lease.extend(5_000);
    await sleep(1_000); // several heartbeats
    expect(lease.ttlMs).toBe(5_000);
    expect(lease.remainingMs).toBeGreaterThan(3_000);
    expect((await locks.inspect('node-8')).ttlMs).toBeGreaterThan(3_000);
  });

  it('event loop blocked past the deadline: lost, not silently renewed', async () => {
    const { locks } = await setup(300, 100);
    const lease = await locks.acquire('node-4', { owner: 'a' });
    const seen = track(lease);
    const blockedUntil = performance.now() + 700;
    while (performance.now() < blockedUntil) {
      // a stalled holder: GC pause, CPU-bound work, a debugger
    }
    await sleep(50);
    expect(lease.state).toBe('lost');
    expect(seen.losses).toHaveLength(1);
    expect(seen.losses[0]?.reason).toBe('deadline');
    expect(seen.extendedAfterLoss).toBe(0);
    await expect(lease.extend()).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('right after a pause, before any timer runs, a lease past its deadline already reads as lost', async () => {
    const { locks } = await setup(300, 100);
    const lease = await locks.acquire('node-5', { owner: 'a' });
    const seen = track(lease);
    const blockedUntil = performance.now() + 500;
    while (performance.now() < blockedUntil) {
      // paused past the deadline; no await below until the checks: the deadline timer cannot have fired
    }
    expect(lease.signal.aborted).toBe(true);
    expect(lease.state).toBe('lost');
    expect(seen.losses).toHaveLength(1);
    expect(seen.losses[0]?.reason).toBe('deadline');
    await sleep(200);
    expect(seen.losses).toHaveLength(1); // the timer that fires later does not report it again
  });

  it('a listener that throws never escapes into the timers: it reaches the error event', async () => {
    const { redis, locks, errors } = await setup(300, 100);
    const lease = await locks.acquire('node-5', { owner: 'a' });
    lease.on('lost', () => {
      throw new Error('bug in a lost listener');
    });
    await redis.del(new RedisBackend(redis, { prefix: 'loss' }).keys.lockKey('node-5'));
    await waitFor(() => lease.state === 'lost', 2_000);
    expect(errors.some((e) => e instanceof Error && e.message === 'bug in a lost listener')).toBe(true);
  });
});
