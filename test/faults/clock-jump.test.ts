// Fault scenario 14 of issue 7, step by step in one process: the lock Redis (under libfaketime) has its wall clock
// jumped forward past the TTL while a holder holds a lease. The lock expires on the server at once; a rival acquires
// while the holder still believes it holds the lease; the holder's writes after the rival's are refused by the fenced
// node store (on a Redis of its own, whose clock is right); the holder hears `lost` at its next heartbeat. The history
// records the jump as breaking an assumption on purpose, so the checker reports the overlap as allowed, not as a
// violation. The multi-process version runs with the other scenarios (scenarios.test.ts, npm run soak).
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockManager, RedisBackend, RedisNodeStore, StaleFenceError, type Lease } from '../../src/index.js';
import { createRedisClient } from '../harness/clients.js';
import { RedisServer } from '../harness/redis-server.js';
import { eventually } from '../support/wait.js';
import { check } from './checker.js';
import { CLOCK_STEP } from './clock-jump.js';
import { now, type Entry, type HistoryEvent } from './history.js';

const TTL = 6_000; // heartbeats every 2 s: the steps from the acquire to the "still believes" check must fit before the first beat, even on a loaded machine

let lockServer: RedisServer;
let storeServer: RedisServer;
const clients: Redis[] = [];
const managers: LockManager[] = [];

beforeAll(async () => {
  [lockServer, storeServer] = await Promise.all([RedisServer.start({ fakeClock: true }), RedisServer.start()]);
});
afterAll(async () => {
  await Promise.all(managers.map((m) => m.close().catch(() => undefined)));
  for (const c of clients) c.disconnect();
  await Promise.all([lockServer?.stop(), storeServer?.stop()]);
});

function client(server: RedisServer): Redis {
  const c = createRedisClient(server);
  clients.push(c);
  return c;
}

function manager(): LockManager {
  const m = new LockManager({ backend: new RedisBackend(client(lockServer), { prefix: 'jump' }), ttlMs: TTL });
  m.on('error', () => undefined);
  managers.push(m);
  return m;
}

/** Server time, epoch ms, by TIME. */
async function serverNow(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1_000 + Math.floor(Number(us) / 1_000);
}

describe('fault: Redis clock jumped forward past the TTL (step by step)', () => {
  it('lets a rival in while the holder believes; every stale write is refused; the checker allows the overlap', async () => {
    const history: Entry[] = [];
    const at = (who: string, event: HistoryEvent): void => void history.push({ ...event, t: now(), who, pid: who === 'holder' ? 1 : who === 'rival' ? 2 : 0 });
    const store = new RedisNodeStore(client(storeServer), { prefix: 'jump' });
    await store.create({ id: 'n1', provisionState: 'manageable' });
    const write = async (who: string, lease: Lease): Promise<boolean> => {
      const sentAt = now();
      try {
        await store.transition('n1', { from: ['manageable', 'cleaning'], to: 'cleaning', fence: lease.fence });
        at(who, { kind: 'write-ok', resource: lease.resource, fence: lease.fence, sentAt });
        return true;
      } catch (error) {
        if (!(error instanceof StaleFenceError)) throw error;
        at(who, { kind: 'write-rejected', resource: lease.resource, fence: lease.fence, error: 'STALE_FENCE', sentAt });
        return false;
      }
    };

    const probe = client(lockServer);
    expect(Math.abs((await serverNow(probe)) - Date.now())).toBeLessThan(1_000); // no offset yet

    const holder = await manager().acquire('node:n1', { owner: 'holder' });
    at('holder', { kind: 'acquire-ok', resource: holder.resource, fence: holder.fence, previousFence: null });
    at('holder', { kind: 'valid', resource: holder.resource, fence: holder.fence, until: now() + holder.remainingMs });
    const lost = eventually<string>((resolve) => holder.once('lost', (e) => resolve(e.reason)), 3 * TTL, 'the holder to hear its lease is lost');
    expect(await write('holder', holder)).toBe(true);

    at('runner', { kind: 'fault', name: 'clock jump', detail: `lock Redis +${3 * TTL} ms`, breaks: CLOCK_STEP });
    lockServer.jumpClock(3 * TTL);
    expect((await serverNow(probe)) - Date.now()).toBeGreaterThan(3 * TTL - 1_000);

    // The lock expired on the server; the holder has not heard yet.
    const rival = await manager().tryAcquire('node:n1', { owner: 'rival' });
    expect(rival, 'the rival got the lock the jump expired').not.toBeNull();
    at('rival', { kind: 'acquire-ok', resource: rival!.resource, fence: rival!.fence, previousFence: holder.fence });
    expect(holder.state, 'the holder still believes it holds the lease').toBe('held');
    expect(rival!.fence).toBeGreaterThan(holder.fence);
    expect(await write('rival', rival!)).toBe(true);

    // The old holder writes on with its old fence (a careless holder): the fence refuses every write.
    for (let i = 0; i < 3; i++) expect(await write('holder', holder)).toBe(false);
    expect(await lost).toBe('token-mismatch');
    at('holder', { kind: 'lost', resource: holder.resource, fence: holder.fence, reason: 'token-mismatch' });
    expect(await store.get('n1')).toMatchObject({ fence: rival!.fence });
    await rival!.release();
    at('rival', { kind: 'released', resource: rival!.resource, fence: rival!.fence });

    const report = check(history, { endOfRun: now(), expectRecovery: false });
    expect(report, JSON.stringify(report.details)).toMatchObject({
      overlaps: 0,
      overlapsAllowed: 1,
      fencesNotGrowing: 0,
      staleWritesAccepted: 0,
      staleWritesRejected: 3,
      currentWritesRejected: 0,
    });
    expect(report.details).toEqual([]);
    // Without the fault's mark, the same history is a violation.
    const unmarked = history.map((e): Entry => (e.kind === 'fault' ? { kind: 'fault', name: e.name, t: e.t, who: e.who, pid: e.pid } : e));
    const strict = check(unmarked, { endOfRun: now(), expectRecovery: false });
    expect(strict).toMatchObject({ overlaps: 1, overlapsAllowed: 0 });
    expect(strict.details).toEqual([expect.stringMatching(/^overlap on node:n1: holder \(fence \d+\).* and rival/)]);
  });
});
