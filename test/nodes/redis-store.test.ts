// RedisNodeStore: the shared NodeStore contract on a standalone server and on a real Redis Cluster (3 masters +
// 3 replicas), then what is particular to Redis: options, one script call per write, one slot per store, big
// state sets, null versus empty text, and Redis failures reported as BackendError.
import { once } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BackendError,
  InvalidNameError,
  InvalidOptionError,
  InvalidStateError,
  NodeExistsError,
  NodeNotFoundError,
  RedisNodeStore,
  StaleFenceError,
  UnknownOptionError,
  type Node,
  type NodeStore,
} from 'leasehold';
import { clusterClient, standaloneClient, uniquePrefix } from '../harness/env.js';
import { nodeStoreContract, type StoreFactory } from './store-contract.js';
import { privateServer } from '../support/private-server.js';

type Client = Redis | Cluster;

const topologies: [string, () => Client][] = [
  ['standalone', standaloneClient],
  ['cluster', clusterClient],
];

/** Every client this file opens, quit at the end. */
const opened: Client[] = [];
function open(connect: () => Client): Client {
  const client = connect();
  opened.push(client);
  return client;
}
afterAll(async () => {
  await Promise.all(opened.map((client) => client.quit().catch(() => client.disconnect())));
});

/** Stores over one shared client per topology, each on a fresh prefix; a twin is a new client on the same prefix. */
function factory(label: string, connect: () => Client): StoreFactory {
  let shared: Client | undefined;
  return () => {
    const prefix = uniquePrefix(label);
    shared ??= open(connect);
    const store = new RedisNodeStore(shared, { prefix });
    return Promise.resolve({ store, twin: () => Promise.resolve(new RedisNodeStore(open(connect), { prefix })) });
  };
}

nodeStoreContract('RedisNodeStore (standalone)', factory('nodes-standalone', standaloneClient));
nodeStoreContract('RedisNodeStore (cluster)', factory('nodes-cluster', clusterClient));

/** Parses `INFO` text into field -> value, commandstats lines included (`cmdstat_evalsha` -> `calls=3,...`). */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

function commandCalls(info: Map<string, string>, command: string): number {
  const match = /(?:^|,)calls=(\d+)/.exec(info.get(`cmdstat_${command}`) ?? '');
  return match ? Number(match[1]) : 0;
}

const NODE_KEYS = ['id', 'provisionState', 'targetState', 'maintenance', 'driver', 'lastError', 'fence', 'updatedAt'];

describe('RedisNodeStore options', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = open(standaloneClient) as Redis;
  });

  it('validates its client and options before anything else', () => {
    const bad = (value: unknown): never => value as never;
    expect(() => new RedisNodeStore(bad(undefined))).toThrow(InvalidOptionError);
    expect(() => new RedisNodeStore(bad({ get: () => null }))).toThrow(InvalidOptionError);
    expect(() => new RedisNodeStore(redis, bad('nodes'))).toThrow(InvalidOptionError);
    expect(() => new RedisNodeStore(redis, bad({ prefx: 'nodes' }))).toThrow(UnknownOptionError);
    expect(() => new RedisNodeStore(redis, bad({ prefix: 'nodes', shards: 4 }))).toThrow(UnknownOptionError);
    for (const prefix of ['', 42, null, 'x'.repeat(513), 'a{b', 'a}b', '{}']) {
      expect(() => new RedisNodeStore(redis, { prefix: bad(prefix) })).toThrow(InvalidNameError);
    }
    expect(new RedisNodeStore(redis).prefix).toBe('leasehold');
    expect(new RedisNodeStore(redis, {}).prefix).toBe('leasehold');
    expect(new RedisNodeStore(redis, { prefix: 'ironic-prod' }).prefix).toBe('ironic-prod');
  });
});

describe.each(topologies)('RedisNodeStore on %s', (_name, connect) => {
  let redis: Client;
  beforeAll(() => {
    redis = open(connect);
  });

  it('returns frozen nodes with exactly the Node fields, numbers as numbers and nulls as null', async () => {
    const store = new RedisNodeStore(redis, { prefix: uniquePrefix('nodes-shape') });
    const created = await store.create({ id: 'n1', provisionState: 'available' });
    const written = await store.transition('n1', { from: ['available'], to: 'deploying', fence: 2 ** 53 - 1, targetState: 'active' });
    const [listed] = await store.list();
    for (const node of [created, written, await store.get('n1'), listed!]) {
      expect(Object.isFrozen(node)).toBe(true);
      expect(Object.keys(node)).toEqual(NODE_KEYS);
      expect(typeof node.fence).toBe('number');
      expect(typeof node.updatedAt).toBe('number');
      expect(Number.isSafeInteger(node.updatedAt)).toBe(true);
    }
    expect(created).toMatchObject({ targetState: null, lastError: null, fence: 0 });
    expect(written).toMatchObject({ targetState: 'active', lastError: null, fence: 2 ** 53 - 1 });
    expect(listed).toEqual(written);
    expect(written.updatedAt).toBeGreaterThanOrEqual(created.updatedAt);
  });

  it('tells null from empty text and from text that looks like its own markers', async () => {
    const store = new RedisNodeStore(redis, { prefix: uniquePrefix('nodes-null') });
    await store.create({ id: 'empty', lastError: '', driver: '' });
    expect(await store.get('empty')).toMatchObject({ lastError: '', driver: '', targetState: null });
    await store.create({ id: 'null', lastError: null });
    expect((await store.get('null')).lastError).toBeNull();

    let fence = 1;
    for (const text of ['null', 'keep', '=', '==x', '', 'null\u0000byte', '☃ – ü']) {
      const written = await store.transition('null', { from: ['enroll'], to: 'enroll', fence: fence++, lastError: text });
      expect(written.lastError).toBe(text);
      expect((await store.get('null')).lastError).toBe(text);
      // Omitted: kept as it is.
      expect((await store.transition('null', { from: ['enroll'], to: 'enroll', fence: fence++ })).lastError).toBe(text);
    }
    expect((await store.transition('null', { from: ['enroll'], to: 'enroll', fence, lastError: null })).lastError).toBeNull();
    expect((await store.transition('null', { from: ['enroll'], to: 'manageable', fence })).lastError).toBeNull();
  });

  it('keeps ids with spaces, braces, colons and non-ASCII text apart and intact', async () => {
    const store = new RedisNodeStore(redis, { prefix: uniquePrefix('nodes-ids') });
    const ids = ['a b', '{tag}', 'x}{y', 'node:1', 'node:1:state', 'nœud-☃', 'Z', 'a', '\u{1F680}'];
    for (const id of ids) await store.create({ id, provisionState: 'available' });
    expect((await store.list()).map((n) => n.id)).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const id of ids) expect((await store.get(id)).id).toBe(id);
    await store.transition('{tag}', { from: ['available'], to: 'deploying', fence: 1 });
    expect((await store.list({ state: 'deploying' })).map((n) => n.id)).toEqual(['{tag}']);
  });

  it('lists a state holding thousands of nodes, page by page, in id order', async () => {
    const store = new RedisNodeStore(redis, { prefix: uniquePrefix('nodes-many') });
    const count = 3_000; // well over one SSCAN page (about 1,000)
    const ids = Array.from({ length: count }, (_, i) => `node-${(i * 7919) % count}`);
    for (let start = 0; start < count; start += 500) {
      await Promise.all(
        ids.slice(start, start + 500).map((id, i) => store.create({ id, provisionState: 'available', maintenance: (start + i) % 10 === 0 })),
      );
    }
    await store.create({ id: 'node-other', provisionState: 'active' });
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    const sent = vi.spyOn(redis, 'sendCommand');
    const available = await store.list({ state: 'available' });
    const scans = sent.mock.calls.filter(([command]) => command.name === 'sscan').length;
    sent.mockRestore();
    expect(scans).toBeGreaterThanOrEqual(3); // read in pages, not one SMEMBERS of the whole set
    expect(available).toHaveLength(count);
    expect(available.map((n) => n.id)).toEqual(sorted);
    expect(available.every((n) => n.provisionState === 'available')).toBe(true);

    const all = await store.list();
    expect(all).toHaveLength(count + 1);
    expect(all.map((n) => n.id)).toEqual([...sorted, 'node-other'].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

    const inMaintenance = await store.list({ maintenance: true });
    expect(inMaintenance).toHaveLength(count / 10);
    expect(inMaintenance.every((n) => n.maintenance)).toBe(true);
    expect(await store.list({ state: ['available', 'active'], maintenance: false })).toHaveLength(count - count / 10 + 1);
    expect(await store.list({ state: 'deploying' })).toEqual([]);
  });

  it('keeps the state and maintenance indexes in step with transitions', async () => {
    const store = new RedisNodeStore(redis, { prefix: uniquePrefix('nodes-index') });
    await store.create({ id: 'n', provisionState: 'manageable' });
    await store.transition('n', { from: ['available', 'manageable'], to: 'cleaning', fence: 1, maintenance: true });
    expect((await store.list({ maintenance: true })).map((n) => n.id)).toEqual(['n']);
    expect(await store.list({ state: 'manageable' })).toEqual([]);
    await store.transition('n', { from: ['cleaning'], to: 'clean failed', fence: 1, maintenance: false });
    expect(await store.list({ maintenance: true })).toEqual([]);
    expect(await store.list({ state: 'cleaning' })).toEqual([]);
    expect((await store.list({ state: 'clean failed', maintenance: false })).map((n) => n.id)).toEqual(['n']);
    // Refused writes move nothing.
    await expect(store.transition('n', { from: ['cleaning'], to: 'manageable', fence: 2, maintenance: true })).rejects.toBeInstanceOf(InvalidStateError);
    await store.transition('n', { from: ['clean failed'], to: 'clean failed', fence: 3 });
    await expect(store.transition('n', { from: ['clean failed'], to: 'manageable', fence: 2, maintenance: true })).rejects.toBeInstanceOf(StaleFenceError);
    expect((await store.list({ state: 'clean failed', maintenance: false })).map((n) => n.id)).toEqual(['n']);
    expect(await store.list({ state: 'manageable' })).toEqual([]);
    // Moving to a state it is already in leaves it indexed there.
    await store.transition('n', { from: ['clean failed'], to: 'clean failed', fence: 3, maintenance: true });
    expect((await store.list({ state: 'clean failed', maintenance: true })).map((n) => n.id)).toEqual(['n']);
    await store.transition('n', { from: ['clean failed', 'manageable'], to: 'available', fence: 3, maintenance: false });
    expect((await store.list({ state: 'available' })).map((n) => n.id)).toEqual(['n']);
    expect(await store.list({ maintenance: true })).toEqual([]);
  });
});

describe('RedisNodeStore on a Cluster', () => {
  let redis: Cluster;
  beforeAll(() => {
    redis = open(clusterClient) as Cluster;
  });

  it('keeps every key of a store in one slot, whatever the node ids', async () => {
    const prefix = uniquePrefix('nodes-slot');
    const store = new RedisNodeStore(redis, { prefix });
    const ids = ['a', 'b', '{b}', '}{', 'nœud', 'with space', ...Array.from({ length: 40 }, (_, i) => `node-${i}`)];
    for (const [i, id] of ids.entries()) await store.create({ id, provisionState: i % 2 ? 'available' : 'manageable', maintenance: i % 3 === 0 });
    for (const id of ids.slice(0, 10)) {
      const { provisionState } = await store.get(id);
      await store.transition(id, { from: [provisionState], to: 'cleaning', fence: 1 });
    }

    const found: { key: string; master: string }[] = [];
    for (const master of redis.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await master.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
        for (const key of keys) found.push({ key, master: `${master.options.host}:${master.options.port}` });
        cursor = next;
      } while (cursor !== '0');
    }
    // Node hashes, the set of all ids, the maintenance set and three state sets.
    expect(found).toHaveLength(ids.length + 2 + 3);
    expect(new Set(found.map((f) => f.master)).size).toBe(1);
    const slots = new Set(await Promise.all(found.map(async (f) => Number(await redis.cluster('KEYSLOT', f.key)))));
    expect(slots.size).toBe(1);
  });
});

describe('RedisNodeStore on a private server', () => {
  const ctx = privateServer();

  it('makes each write one round trip: one script call, and nothing else, whatever the outcome', async () => {
    const store = new RedisNodeStore(ctx.redis, { prefix: 'one-call' });
    // Warm-up: ioredis sends a script's first call on a connection as EVAL, later ones as EVALSHA.
    await store.create({ id: 'warm', provisionState: 'available' });
    await store.transition('warm', { from: ['available'], to: 'deploying', fence: 5 });

    await ctx.admin.config('RESETSTAT');
    const sent = vi.spyOn(ctx.redis, 'sendCommand');
    const writes: (() => Promise<Node>)[] = [
      () => store.create({ id: 'n', provisionState: 'available', lastError: 'x', maintenance: true }),
      () => store.create({ id: 'n' }), // exists
      () => store.transition('n', { from: ['available'], to: 'deploying', fence: 3, targetState: 'active', lastError: null, maintenance: false }),
      () => store.transition('n', { from: ['deploying'], to: 'active', fence: 2 }), // stale
      () => store.transition('n', { from: ['available', 'manageable'], to: 'active', fence: 3 }), // state moved on
      () => store.transition('missing', { from: ['available'], to: 'active', fence: 3 }), // no such node
    ];
    const outcomes = [];
    for (const write of writes) outcomes.push(await write().then(() => 'ok', (error: unknown) => (error as { code: string }).code));
    const names = sent.mock.calls.map(([command]) => command.name);
    sent.mockRestore();
    const info = parseInfo(String(await ctx.admin.call('INFO', 'commandstats')));

    expect(outcomes).toEqual(['ok', 'NODE_EXISTS', 'ok', 'STALE_FENCE', 'INVALID_STATE', 'NODE_NOT_FOUND']);
    expect(names).toEqual(Array.from(writes, () => 'evalsha'));
    expect(commandCalls(info, 'evalsha')).toBe(writes.length);
    expect(commandCalls(info, 'eval')).toBe(0);
  });

  it('validates every argument before calling Redis', async () => {
    const store = new RedisNodeStore(ctx.redis, { prefix: 'no-call' });
    const sent = vi.spyOn(ctx.redis, 'sendCommand');
    const bad = (value: unknown): never => value as never;
    const attempts = [
      store.get(''),
      store.list(bad({ state: 'nope' })),
      store.create(bad({ id: 'x', color: 'red' })),
      store.transition('x', { from: ['available'], to: 'deploying', fence: 0 }),
      store.transition('x', bad({ from: 'available', to: 'deploying', fence: 1 })),
    ];
    const results = await Promise.allSettled(attempts);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(sent).not.toHaveBeenCalled();
    sent.mockRestore();
  });

  it('reports a node Redis holds in a shape it cannot read as a BackendError', async () => {
    const store = new RedisNodeStore(ctx.redis, { prefix: 'corrupt' });
    await ctx.admin.hset('{corrupt}:node:bad', { provisionState: 'deploy', maintenance: '0', driver: '', fence: '0', updatedAt: '1' });
    await ctx.admin.sadd('{corrupt}:all', 'bad');
    await expect(store.get('bad')).rejects.toBeInstanceOf(BackendError);
    await expect(store.list()).rejects.toBeInstanceOf(BackendError);
    await expect(store.get('none')).rejects.toBeInstanceOf(NodeNotFoundError);
  });

  it('reports Redis failures as BackendError with the cause, and never hangs', async () => {
    const client = ctx.server.client({ enableOfflineQueue: false, retryStrategy: () => null });
    const store: NodeStore = new RedisNodeStore(client, { prefix: 'down' });
    if (client.status !== 'ready') await once(client, 'ready');
    await store.create({ id: 'n', provisionState: 'available' });
    await expect(store.create({ id: 'n' })).rejects.toBeInstanceOf(NodeExistsError);
    client.disconnect();
    for (const call of [
      () => store.get('n'),
      () => store.list(),
      () => store.create({ id: 'm' }),
      () => store.transition('n', { from: ['available'], to: 'deploying', fence: 1 }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendError);
      expect((error as BackendError).cause).toBeInstanceOf(Error);
    }
  });

  it('never lets a stale writer through, even with many writers on many connections', async () => {
    const clients = Array.from({ length: 4 }, () => ctx.server.client());
    try {
      const stores = clients.map((c) => new RedisNodeStore(c, { prefix: 'race' }));
      await stores[0]!.create({ id: 'n', provisionState: 'cleaning' });
      const fences = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 200) + 1);
      const results = await Promise.allSettled(
        fences.map((fence, i) => stores[i % stores.length]!.transition('n', { from: ['cleaning'], to: 'cleaning', fence })),
      );
      // Accepted fences, in the order Redis applied them (updatedAt may tie), never go down.
      let highest = 0;
      for (const [i, r] of results.entries()) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(StaleFenceError);
          expect((r.reason as StaleFenceError).storedFence).toBeGreaterThan(fences[i]!);
        } else {
          highest = Math.max(highest, r.value.fence);
        }
      }
      expect(highest).toBe(200);
      expect((await stores[1]!.get('n')).fence).toBe(200);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});
