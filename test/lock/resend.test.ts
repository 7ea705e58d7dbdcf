// ioredis sends unanswered commands again after a reconnect (autoResendUnfulfilledCommands, on by default). A script
// that ran and whose answer was lost with the connection then runs twice. Here a proxy of our own holds back the
// server's answer and cuts the connection, and the client reconnects and sends the script again: an acquisition
// must not come back refused by its own grant (a lock nobody heartbeats, an orphan of its own later), and a
// hand-over must not lose the grant it made.
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, LockManager, RedisBackend } from '../../src/index.js';
import { createRedisClient } from '../harness/clients.js';
import { RedisServer } from '../harness/redis-server.js';
import { FaultProxy } from '../faults/proxy.js';
import { sleep, waitFor } from '../support/wait.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

async function setup(prefix: string) {
  const server = await RedisServer.start();
  cleanups.push(() => server.stop());
  const proxy = await FaultProxy.start({ host: server.host, port: server.port });
  cleanups.push(() => proxy.stop());
  // ioredis's defaults for what matters here: unanswered commands are sent again after a reconnect.
  const client = createRedisClient({ host: proxy.host, port: proxy.port }, { maxRetriesPerRequest: 20, retryStrategy: () => 50 });
  cleanups.push(() => client.disconnect());
  const admin = server.client();
  cleanups.push(() => admin.disconnect());
  const backend = new RedisBackend(client, { prefix });
  const locks = new LockManager({ backend, ttlMs: 10_000 });
  cleanups.push(() => locks.close());
  // The scripts used here are loaded first (acquire, release, hand-over): no NOSCRIPT answer to hold back.
  const warm = await locks.acquire('warm-up', { owner: 'w' });
  const handed = locks.acquire('warm-up', { owner: 'w', waitMs: 5_000 });
  await sleep(30);
  await warm.release();
  await (await handed).release();
  /** Runs `send` with the server's answers held back until its call ran, then cuts the connection. */
  const answerLost = async <T>(send: () => Promise<T>, ran: () => Promise<boolean>): Promise<{ sent: Promise<T> }> => {
    proxy.set({ kind: 'blackhole', direction: 'to-client' });
    const sent = send();
    sent.catch(() => undefined);
    await waitFor(ran, 5_000);
    proxy.set({ kind: 'drop' }); // the answer is lost with the connection
    await sleep(20);
    proxy.set({ kind: 'pass' }); // the client reconnects and sends the call again
    return { sent };
  };
  return { backend, locks, admin, answerLost };
}

describe('a script sent again after a reconnect', () => {
  it('an acquisition whose first answer was lost fails loudly and leaves no lock behind', async () => {
    const { backend, locks, admin, answerLost } = await setup('resend-acquire');
    const lockKey = backend.keys.lockKey('node-1');
    const { sent: attempt } = await answerLost(() => locks.tryAcquire('node-1', { owner: 'a' }), async () => (await admin.exists(lockKey)) === 1);
    // Before, the second run was refused by the first run's lock: tryAcquire() said "held" (null), and that lock,
    // which nobody renews or releases, kept the resource for its whole TTL before turning into an orphan of "a".
    await expect(attempt).rejects.toBeInstanceOf(BackendError);
    await waitFor(async () => (await admin.exists(lockKey)) === 0, 5_000); // given back at once, as an orphan
    const info = await locks.inspect('node-1');
    expect(info.holder).toBeNull();
    expect(info.orphan?.holder.owner).toBe('a'); // for recovery: the first run may have taken over a dead holder's
    const again = await locks.tryAcquire('node-1', { owner: 'a' });
    expect(again?.previous?.owner).toBe('a');
    await again?.release();
  });

  it('a hand-over whose first answer was lost still hands the resource over', async () => {
    const { backend, locks, admin, answerLost } = await setup('resend-handover');
    const lockKey = backend.keys.lockKey('node-2');
    const held = await locks.acquire('node-2', { owner: 'a' });
    const waiting = locks.acquire('node-2', { owner: 'b', waitMs: 15_000 });
    await sleep(50); // parked: the release hands the resource to it
    const { sent: released } = await answerLost(() => held.release(), async () => (await admin.get(lockKey)) !== held.token);
    expect(await released).toBe(true);
    const next = await waiting;
    // Before, the second run found the released lease's token gone and said "lost": the waiter asked again, was
    // refused by the grant of the first run, and waited out that grant's TTL.
    expect(next.owner).toBe('b');
    expect(next.fence).toBeGreaterThan(held.fence);
    expect(await admin.get(lockKey)).toBe(next.token);
    await next.release();
  });
});
