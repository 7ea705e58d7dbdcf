// Operator recovery through the API, against a real Redis: RecoveryManager.recoverNode refuses a live lease (naming
// its holder and time left) and changes nothing; with force and a reason it breaks the lease, the fence grows so the
// old holder's writes are refused, the holder hears `lost`, and an audit record is appended. A "dead holder" is a
// lease taken straight through the backend: nobody heartbeats it, so it really expires, as a killed conductor's.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LeaseLostError,
  LiveLeaseError,
  LockManager,
  NodeNotFoundError,
  NotOrphanedError,
  ReasonRequiredError,
  RecoveryManager,
  RedisBackend,
  RedisEventLog,
  RedisNodeStore,
  StaleFenceError,
  nodeResource,
  type Lease,
  type LogEntry,
  type ProvisionStateValue,
} from 'leasehold';
import { standaloneClient, uniquePrefix } from '../harness/env.js';
import { eventually, sleep } from '../support/wait.js';

const cleanup: (() => Promise<unknown>)[] = [];
let redis: Redis;

beforeAll(() => {
  redis = standaloneClient();
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  redis.disconnect();
});

/** Holder TTL: short, so `lost` arrives at its next heartbeat (every TTL / 3) within a second or so. */
const HOLDER_TTL_MS = 3_000;

/** One deployment under its own prefix: a live holder's lock manager, the operator's recovery manager, the logs. */
function world() {
  const prefix = uniquePrefix('operator');
  const backend = new RedisBackend(redis, { prefix });
  const nodes = new RedisNodeStore(redis, { prefix });
  const audit = new RedisEventLog(redis, 'audit', { prefix });
  const events = new RedisEventLog(redis, 'recovery-events', { prefix });
  const holder = new LockManager({ backend, ttlMs: HOLDER_TTL_MS });
  const operatorLocks = new LockManager({ backend, ttlMs: 10_000 });
  const manager = new RecoveryManager({ locks: operatorLocks, nodes, id: 'operator-test', audit, eventLog: events });
  cleanup.push(async () => {
    await manager.stop();
    await operatorLocks.close();
    await holder.close();
  });
  return {
    backend,
    nodes,
    audit,
    events,
    holder,
    manager,
    /** Creates node `id` and has conductor-a take it and start deploying it, as a live conductor would. */
    async live(id: string): Promise<Lease> {
      await nodes.create({ id, provisionState: 'available', driver: 'ipmi' });
      const lease = await holder.acquire(nodeResource(id), { owner: 'conductor-a', purpose: 'deploy' });
      await nodes.transition(id, { from: ['available'], to: 'deploying', fence: lease.fence, targetState: 'active' });
      return lease;
    },
    /** Creates node `id` in `state` under a dead holder's lease that expires after `ttlMs`; resolves to its fence. */
    async dead(id: string, state: ProvisionStateValue, ttlMs: number): Promise<number> {
      await nodes.create({ id, provisionState: 'available' });
      const outcome = await backend.acquire({ resource: nodeResource(id), token: randomBytes(8).toString('hex'), owner: 'dead', purpose: 'clean', ttlMs });
      if (!outcome.acquired) throw new Error(`could not take ${id}`);
      await nodes.transition(id, { from: ['available'], to: state, fence: outcome.fence });
      return outcome.fence;
    },
    /** What an operator must never change by a refused call: the node, who holds it, its orphan record, the audit. */
    async snapshot(id: string) {
      const node = await nodes.get(id).catch((e: unknown) => e);
      const info = await operatorLocks.inspect(nodeResource(id));
      return { node, holder: info.holder, lastFence: info.lastFence, orphan: info.orphan, audit: await audit.tail(100) };
    },
  };
}

async function until(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe('Operator: recoverNode', () => {
  it('refuses a live lease, naming its holder, fence, purpose and time left, and changes nothing', async () => {
    const w = world();
    const lease = await w.live('n1');
    const before = await w.snapshot('n1');

    const error = await w.manager.recoverNode('n1', { actor: 'alice' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LiveLeaseError);
    const refused = error as LiveLeaseError;
    expect(refused.code).toBe('LEASE_LIVE');
    expect(refused.nodeId).toBe('n1');
    expect(refused.holder).toMatchObject({ owner: 'conductor-a', fence: lease.fence, purpose: 'deploy' });
    expect(refused.ttlMs).toBeGreaterThan(0);
    expect(refused.ttlMs).toBeLessThanOrEqual(HOLDER_TTL_MS);
    expect(refused.message).toContain('"conductor-a" holds it');
    expect(refused.message).toContain(`fence ${lease.fence}`);
    expect(refused.message).toMatch(/for \d+ more ms/);
    expect(refused.message).toContain('--force --reason');

    // A reason alone is no force: still refused.
    await expect(w.manager.recoverNode('n1', { actor: 'alice', reason: 'I think it is stuck' })).rejects.toBeInstanceOf(LiveLeaseError);

    expect(await w.snapshot('n1')).toEqual(before);
    // The holder keeps its lease across heartbeats, and its fenced writes still land.
    await sleep(HOLDER_TTL_MS / 2);
    expect(lease.state).toBe('held');
    await expect(w.nodes.transition('n1', { from: ['deploying'], to: 'active', fence: lease.fence })).resolves.toMatchObject({ provisionState: 'active' });
  });

  it('with force and a reason breaks it: the fence grows, the holder hears lost, its writes are refused, an audit record is kept', async () => {
    const w = world();
    const lease = await w.live('n2');
    const lost = eventually<LeaseLostError>((resolve) => lease.once('lost', resolve), HOLDER_TTL_MS * 2, 'the holder to hear lost');
    const startedAt = Date.now();

    const result = await w.manager.recoverNode('n2', { actor: 'alice', force: true, reason: 'conductor-a hung on a BMC call' });

    expect(result.outcome).toBe('recovered');
    expect(result.broke).toMatchObject({ owner: 'conductor-a', fence: lease.fence, purpose: 'deploy' });
    if (result.outcome !== 'recovered') throw new Error('unreachable');
    expect(result).toMatchObject({ nodeId: 'n2', from: 'deploying', to: 'deploy failed', trigger: 'operator', previous: { owner: 'conductor-a', fence: lease.fence } });
    expect(result.fence).toBeGreaterThan(lease.fence);

    // The node was moved with the new fence, and says who did it.
    const node = await w.nodes.get('n2');
    expect(node).toMatchObject({ provisionState: 'deploy failed', targetState: null, fence: result.fence });
    expect(node.lastError).toContain('"conductor-a" held this node');
    expect(node.lastError).toContain('alice');

    // The holder is told, at its next heartbeat.
    const error = await lost;
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error.fence).toBe(lease.fence);
    expect(lease.state).toBe('lost');
    expect(lease.signal.aborted).toBe(true);

    // A write straight to the store with the old fence is refused, whatever the holder believes.
    const write = await w.nodes.transition('n2', { from: ['deploying', 'deploy failed'], to: 'active', fence: lease.fence }).catch((e: unknown) => e);
    expect(write).toBeInstanceOf(StaleFenceError);
    expect(write).toMatchObject({ fence: lease.fence, storedFence: result.fence });
    expect((await w.nodes.get('n2')).provisionState).toBe('deploy failed');

    // The audit records: who, when, why, the previous holder and its fence (written before the break), then the outcome.
    const audit = await w.audit.tail(10);
    expect(audit.map((a) => a.type)).toEqual(['forced-break', 'forced-recovery']);
    const [record, outcome] = audit as [LogEntry<Record<string, unknown>>, LogEntry<Record<string, unknown>>];
    expect(outcome.body).toMatchObject({ actor: 'alice', nodeId: 'n2', outcome: 'recovered', fence: result.fence, from: 'deploying', to: 'deploy failed' });
    expect(record.type).toBe('forced-break');
    expect(record.body).toMatchObject({
      actor: 'alice',
      reason: 'conductor-a hung on a BMC call',
      nodeId: 'n2',
      resource: 'node:n2',
      previous: { owner: 'conductor-a', fence: lease.fence, purpose: 'deploy' },
    });
    expect(record.body.at).toBeGreaterThanOrEqual(startedAt - 1_000);
    expect(record.body.at).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(record.body.ttlLeftMs).toBeGreaterThan(0);

    // Nothing is left to recover, and the lock is free for the next conductor, with a newer fence still.
    const info = await w.backend.inspect(nodeResource('n2'));
    expect(info).toMatchObject({ holder: null, orphan: null });
    await expect(w.manager.recoverNode('n2', { actor: 'alice' })).rejects.toBeInstanceOf(NotOrphanedError);
    const next = await w.holder.acquire(nodeResource('n2'), { owner: 'conductor-b' });
    expect(next.fence).toBeGreaterThan(result.fence);
    expect(next.previous).toBeNull();
    await next.release();
  });

  it('refuses force without a reason (ReasonRequiredError) and changes nothing', async () => {
    const w = world();
    const lease = await w.live('n3');
    const before = await w.snapshot('n3');
    for (const reason of [undefined, '', '   ']) {
      const options = reason === undefined ? { actor: 'alice', force: true } : { actor: 'alice', force: true, reason };
      const error = await w.manager.recoverNode('n3', options).catch((e: unknown) => e);
      expect(error, `reason ${JSON.stringify(reason)}`).toBeInstanceOf(ReasonRequiredError);
      expect((error as ReasonRequiredError).code).toBe('REASON_REQUIRED');
      expect((error as Error).message).toContain('reason');
    }
    expect(await w.snapshot('n3')).toEqual(before);
    expect(lease.state).toBe('held');
  });

  it('rejects an unknown node with NodeNotFoundError, even forced, and breaks nothing', async () => {
    const w = world();
    await expect(w.manager.recoverNode('ghost', { actor: 'alice' })).rejects.toBeInstanceOf(NodeNotFoundError);
    // A lease on a node the store does not know is not broken either.
    const lease = await w.holder.acquire(nodeResource('ghost-2'), { owner: 'conductor-a', purpose: 'deploy' });
    const error = await w.manager.recoverNode('ghost-2', { actor: 'alice', force: true, reason: 'cleanup' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeNotFoundError);
    expect(error).toMatchObject({ code: 'NODE_NOT_FOUND', nodeId: 'ghost-2' });
    expect((await w.backend.inspect(nodeResource('ghost-2'))).holder).toMatchObject({ owner: 'conductor-a', fence: lease.fence });
    expect(await w.audit.tail(10)).toEqual([]);
  });

  it('rejects a node that is not orphaned with NotOrphanedError: never leased, or released normally', async () => {
    const w = world();
    await w.nodes.create({ id: 'never', provisionState: 'deploying' });
    const never = await w.manager.recoverNode('never', { actor: 'alice' }).catch((e: unknown) => e);
    expect(never).toBeInstanceOf(NotOrphanedError);
    expect(never).toMatchObject({ code: 'NOT_ORPHANED', nodeId: 'never', lastHolder: null });

    await w.nodes.create({ id: 'released', provisionState: 'available' });
    const lease = await w.holder.acquire(nodeResource('released'), { owner: 'conductor-a', purpose: 'inspect' });
    await lease.release();
    const before = await w.snapshot('released');
    const released = await w.manager.recoverNode('released', { actor: 'alice', force: true, reason: 'just in case' }).catch((e: unknown) => e);
    expect(released).toBeInstanceOf(NotOrphanedError);
    expect((released as NotOrphanedError).lastHolder).toMatchObject({ owner: 'conductor-a', fence: lease.fence });
    expect((released as Error).message).toContain('"conductor-a"');
    expect(await w.snapshot('released')).toEqual(before);
    expect((await w.nodes.get('never')).provisionState).toBe('deploying');
  });

  it('recovers an orphan without force, once, and publishes what it did to the recovery-events stream', async () => {
    const w = world();
    const deadFence = await w.dead('orphan-1', 'cleaning', 300);
    // Before it expires, the dead holder's lease is still live: refused.
    await expect(w.manager.recoverNode('orphan-1', { actor: 'alice' })).rejects.toBeInstanceOf(LiveLeaseError);
    await until(async () => (await w.backend.inspect(nodeResource('orphan-1'))).orphan !== null, 5_000, 'the dead lease to expire');

    const result = await w.manager.recoverNode('orphan-1', { actor: 'alice' });
    expect(result).toMatchObject({ outcome: 'recovered', broke: null, nodeId: 'orphan-1', from: 'cleaning', to: 'clean failed', trigger: 'operator' });
    expect(result).toMatchObject({ previous: { owner: 'dead', fence: deadFence, purpose: 'clean' } });
    const node = await w.nodes.get('orphan-1');
    expect(node.provisionState).toBe('clean failed');
    expect(node.fence).toBeGreaterThan(deadFence);
    expect(node.lastError).toMatch(/"dead" held this node .*moved to "clean failed" by alice through recovery:operator-test \(operator request\)/);

    // Only forced breaks are audited; the recovery itself is published for `leasehold watch`.
    expect(await w.audit.tail(10)).toEqual([]);
    await until(async () => (await w.events.tail(10)).length >= 2, 5_000, 'the recovery events');
    const events = await w.events.tail(10);
    expect(events.map((e) => e.type)).toEqual(['orphaned', 'recovered']);
    expect(events[1]!.body).toMatchObject({ nodeId: 'orphan-1', from: 'cleaning', to: 'clean failed', trigger: 'operator', manager: 'recovery:operator-test' });

    // Exactly once: the orphan record is gone.
    expect((await w.backend.inspect(nodeResource('orphan-1'))).orphan).toBeNull();
    await expect(w.manager.recoverNode('orphan-1', { actor: 'alice' })).rejects.toBeInstanceOf(NotOrphanedError);
  });

  it('clears the orphan record of a node in a stable state without writing it', async () => {
    const w = world();
    await w.dead('stable-1', 'active', 200);
    await until(async () => (await w.backend.inspect(nodeResource('stable-1'))).orphan !== null, 5_000, 'the dead lease to expire');
    const before = await w.nodes.get('stable-1');
    const result = await w.manager.recoverNode('stable-1', { actor: 'alice' });
    expect(result).toMatchObject({ outcome: 'skipped', reason: 'stable', broke: null });
    expect(await w.nodes.get('stable-1')).toEqual(before);
    expect((await w.backend.inspect(nodeResource('stable-1'))).orphan).toBeNull();
  });
});
