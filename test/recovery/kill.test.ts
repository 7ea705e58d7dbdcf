// The mission in one test: a real conductor process holding nodes in several transient states is killed with
// SIGKILL, and a RecoveryManager moves every one of its nodes to its failed state, once, with a useful last_error,
// needing neither the nodes' drivers nor the dead conductor's registry entry.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  LockManager,
  RecoveryManager,
  RedisBackend,
  RedisConductorRegistry,
  RedisNodeStore,
  type NodeStore,
  type ProvisionStateValue,
  type RecoveredEvent,
  type Transition,
} from 'leasehold';
import { standalone, standaloneClient, uniquePrefix } from '../harness/env.js';
import { ConductorProcess, killConductorProcesses } from '../support/conductor-process.js';
import { sleep } from '../support/wait.js';

let redis: Redis;
beforeAll(() => {
  redis = standaloneClient();
});
afterAll(() => {
  killConductorProcesses();
  redis.disconnect();
});

it('SIGKILL of a conductor holding nodes in transient states: each reaches its failed state exactly once', async () => {
  const prefix = uniquePrefix('kill');
  const ttlMs = 2_000; // the child, a tsx process on a busy machine, must not stall past it while it lives
  const store = new RedisNodeStore(redis, { prefix });
  const applied = new Map<string, number>();
  const counting: NodeStore = {
    get: (id) => store.get(id),
    list: (q) => store.list(q),
    create: (n) => store.create(n),
    transition: async (id: string, t: Transition) => {
      const node = await store.transition(id, t);
      applied.set(id, (applied.get(id) ?? 0) + 1);
      return node;
    },
  };
  const plan: [string, ProvisionStateValue[], ProvisionStateValue, { maintenance?: boolean; driver?: string }][] = [
    ['k-deploying', ['deploying'], 'deploy failed', {}],
    ['k-deploy-wait', ['deploying', 'wait call-back'], 'deploy failed', {}],
    ['k-cleaning', ['cleaning'], 'clean failed', {}],
    ['k-inspecting', ['inspecting'], 'inspect failed', {}],
    ['k-deleting', ['deleting'], 'error', {}],
    ['k-maintenance', ['cleaning', 'clean wait'], 'clean failed', { maintenance: true }],
    ['k-odd-driver', ['deploying'], 'deploy failed', { driver: 'a-driver-no-live-conductor-has' }],
  ];
  for (const [id, , , extra] of plan) await store.create({ id, provisionState: 'available', driver: 'ipmi', ...extra });

  const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs });
  // One sweep, at start, before the kill: a later one could find an orphan in the moment between its logical expiry
  // and its `expired` event, and the trigger asserted below is the event.
  const recovery = new RecoveryManager({ locks, nodes: counting, subscriber: redis, sweepIntervalMs: 60_000 });
  const recovered: RecoveredEvent[] = [];
  recovery.on('recovered', (e) => recovered.push(e));
  await recovery.start();

  const conductor = new ConductorProcess({
    REDIS_URL: `redis://${standalone().host}:${standalone().port}`,
    PREFIX: prefix,
    ID: 'conductor-doomed',
    TTL_MS: String(ttlMs),
    STORE: 'redis',
  });
  await conductor.next('ready');
  for (const [id, to] of plan) await conductor.ask({ type: 'reserve', nodeId: id, purpose: 'provision', to }, 'reserved');
  await sleep(2 * ttlMs); // heartbeats keep everything held while it lives
  expect(recovered).toEqual([]);

  conductor.child.kill('SIGKILL');
  await conductor.exited();
  const killedAt = Date.now();
  await new RedisConductorRegistry(redis, { prefix }).remove('conductor-doomed'); // recovery must not need it
  const deadline = performance.now() + 15_000;
  while (recovered.length < plan.length && performance.now() < deadline) await sleep(20);

  expect(recovered.map((e) => e.nodeId).sort()).toEqual(plan.map(([id]) => id).sort());
  for (const [id, to, failed] of plan) {
    const node = await store.get(id);
    expect(node.provisionState, id).toBe(failed);
    expect(applied.get(id), `${id} written once`).toBe(1);
    expect(node.lastError).toContain('"conductor-doomed" held this node');
    expect(node.lastError).toContain('purpose "provision"');
    expect(node.lastError).toContain(`while the node was "${to.at(-1)}"`);
    expect(node.lastError).toMatch(/lease expired at \d{4}-\d\d-\d\dT/);
  }
  expect((await store.get('k-maintenance')).maintenance).toBe(true);
  // Found by expiry events, within about one TTL of the kill (generous bound: 2 TTLs + 2 s).
  for (const e of recovered) expect(e.trigger).toBe('event');
  expect(Date.now() - killedAt).toBeLessThan(2 * ttlMs + 2_000);
  await sleep(300);
  expect(recovered).toHaveLength(plan.length); // and never twice
  await recovery.stop();
  await locks.close();
  expect(await locks.leases()).toEqual([]);
  // Every node orphan is gone; the dead conductor's own liveness orphan stays listed until it starts again.
  expect((await locks.orphans()).map((o) => o.resource)).toEqual(['conductor:conductor-doomed']);
});
