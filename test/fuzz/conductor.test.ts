// Bad-input fuzzing of the node stores, the conductor and recovery (issue 7), property-based with fast-check against
// a private redis-server: MemoryNodeStore and RedisNodeStore create / transition / get / list (and that both answer
// alike), the Conductor constructor, withNode / reserve / stop, the RecoveryManager constructor and recoverNode. Each
// call works or throws a typed leasehold error with its stable code; a real node lease held by another owner on the
// same Redis, and its node, are exactly as they were after every property.
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Conductor,
  InvalidNameError,
  LockManager,
  MemoryNodeStore,
  NodeTask,
  PROVISION_STATES,
  RecoveryManager,
  RedisBackend,
  RedisConductorRegistry,
  RedisNodeStore,
  UnknownStateError,
  isProvisionState,
  type ConductorOptions,
  type Node,
  type NodeStore,
  type RecoveryManagerOptions,
} from '../../src/index.js';
import { createRedisClient } from '../harness/clients.js';
import { RedisServer } from '../harness/redis-server.js';
import { RUNS, Tally, attempt, expectTyped, mostly, mustBeTyped, oddString, oddValue, optionsOf, render, type Outcome } from './arbitraries.js';
import { Victim } from './victim.js';

const PREFIX = 'fuzz';
let server: RedisServer;
let redis: Redis;
let locks: LockManager;
let nodes: RedisNodeStore;
let registry: RedisConductorRegistry;
let conductor: Conductor;
let recovery: RecoveryManager;
let victim: Victim;
let victimNode: Node;
let stores = 0;

beforeAll(async () => {
  server = await RedisServer.start();
  redis = createRedisClient(server);
  victim = await Victim.hold(createRedisClient(server), PREFIX, 'node:victim');
  locks = new LockManager({ backend: new RedisBackend(redis, { prefix: PREFIX }), ttlMs: 10_000 });
  locks.on('error', () => undefined);
  nodes = new RedisNodeStore(redis, { prefix: `${PREFIX}-conductor` });
  victimNode = await nodes.create({ id: 'victim', provisionState: 'deploying', driver: 'ipmi' });
  for (const id of ['free-1', 'free-2']) await nodes.create({ id, provisionState: 'manageable' });
  registry = new RedisConductorRegistry(redis, { prefix: PREFIX });
  conductor = new Conductor({ id: 'fuzz-conductor', locks, nodes, registry, lockRetry: { attempts: 1, intervalMs: 0 } });
  conductor.on('error', () => undefined);
  await conductor.start();
  recovery = new RecoveryManager({ locks, nodes }); // no audit log: a forced recovery is refused before it breaks anything
  recovery.on('error', () => undefined);
});
afterEach(async () => {
  await victim.expectUntouched();
  expect(await nodes.get('victim')).toEqual(victimNode);
});
afterAll(async () => {
  await conductor?.stop();
  await locks?.close();
  await victim?.release();
  victim?.redis.disconnect();
  redis?.disconnect();
  await server?.stop();
});

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const state = mostly(fc.constantFrom(...PROVISION_STATES), 6);
const nodeId = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('n1', 'n2', 'n3', 'victim', 'free-1', 'free-2', 'missing') },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: oddValue },
);
const text = mostly(fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('x\uD800', '\uDC00y', 'ok')), 6);
const newNode = optionsOf({
  id: nodeId,
  provisionState: state,
  targetState: fc.oneof(state, fc.constant(null)),
  maintenance: mostly(fc.boolean(), 6),
  driver: text,
  lastError: fc.oneof(text, fc.constant(null)),
});
const fromStates = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...PROVISION_STATES), { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.sparseArray(fc.constantFrom(...PROVISION_STATES), { minNumElements: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(state, { maxLength: 3 }) },
  { weight: 1, arbitrary: oddValue },
);
const transition = optionsOf({
  from: fromStates,
  to: state,
  fence: mostly(fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53)), 6),
  targetState: fc.oneof(state, fc.constant(null), fc.constant(undefined)),
  lastError: fc.oneof(text, fc.constant(null), fc.constant(undefined)),
  maintenance: fc.oneof(mostly(fc.boolean(), 6), fc.constant(undefined)),
});
const query = optionsOf({
  state: fc.oneof(state, fc.array(state, { maxLength: 3 }), fc.sparseArray(fc.constantFrom(...PROVISION_STATES), { maxLength: 3 })),
  maintenance: mostly(fc.boolean(), 4),
});
const storeCall = fc.oneof(
  fc.record({ op: fc.constant('create' as const), node: newNode }),
  fc.record({ op: fc.constant('transition' as const), id: nodeId, t: transition }),
  fc.record({ op: fc.constant('get' as const), id: nodeId }),
  fc.record({ op: fc.constant('list' as const), query }),
);
type StoreCall = typeof storeCall extends fc.Arbitrary<infer T> ? T : never;

function run(store: NodeStore, call: StoreCall): Promise<Outcome> {
  return attempt(() => {
    switch (call.op) {
      case 'create':
        return store.create(call.node as never);
      case 'transition':
        return store.transition(call.id as string, call.t as never);
      case 'get':
        return store.get(call.id as string);
      case 'list':
        return store.list(call.query as never);
    }
  });
}

/** Fails unless `node` is a well-formed node (what a store returns must be what the types promise). */
function expectNode(node: unknown): void {
  const n = node as Node;
  expect(typeof n.id === 'string' && n.id.length > 0).toBe(true);
  expect(isProvisionState(n.provisionState)).toBe(true);
  expect(n.targetState === null || isProvisionState(n.targetState)).toBe(true);
  expect(typeof n.maintenance).toBe('boolean');
  expect(typeof n.driver).toBe('string');
  expect(n.lastError === null || typeof n.lastError === 'string').toBe(true);
  expect(Number.isSafeInteger(n.fence) && n.fence >= 0).toBe(true);
}

/** A comparable rendering of an outcome: the node(s) without `updatedAt`, or the error's code. */
function summary(outcome: Outcome): unknown {
  if (!outcome.ok) return { code: (outcome.error as { code?: unknown }).code ?? String(outcome.error) };
  const strip = (n: Node): Omit<Node, 'updatedAt'> & { updatedAt?: number } => {
    const rest: Omit<Node, 'updatedAt'> & { updatedAt?: number } = { ...n };
    delete rest.updatedAt;
    return rest;
  };
  return Array.isArray(outcome.value) ? (outcome.value as Node[]).map(strip) : strip(outcome.value as Node);
}

describe.each([
  ['MemoryNodeStore', () => new MemoryNodeStore()],
  ['RedisNodeStore', () => new RedisNodeStore(redis, { prefix: `${PREFIX}-store-${stores++}` })],
] as const)('fuzz: %s', (_name, make) => {
  it('create / transition / get / list work or throw a typed error, and return well-formed nodes', async () => {
    const store = make();
    await store.create({ id: 'n1', provisionState: 'manageable' });
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(storeCall, async (call) => {
        const outcome = await run(store, call);
        tally.add(outcome);
        if (!outcome.ok) return expectTyped(outcome.error, `${call.op}(${render(call)})`);
        for (const node of Array.isArray(outcome.value) ? outcome.value : [outcome.value]) expectNode(node);
      }),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });
});

describe('fuzz: node stores agree', () => {
  it('MemoryNodeStore and RedisNodeStore answer every sequence of calls alike', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(storeCall, { minLength: 1, maxLength: 8 }), async (calls) => {
        const memory = new MemoryNodeStore();
        const inRedis = new RedisNodeStore(redis, { prefix: `${PREFIX}-agree-${stores++}` });
        for (const store of [memory, inRedis]) await store.create({ id: 'n1', provisionState: 'cleaning', lastError: 'seed' });
        for (const call of calls) {
          const [a, b] = [await run(memory, call), await run(inRedis, call)];
          expect(summary(b), `${call.op}(${render(call)})`).toEqual(summary(a));
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('refuses a node id with a lone surrogate, and stores free text as UTF-8 would (found by fuzzing)', async () => {
    for (const store of [new MemoryNodeStore(), new RedisNodeStore(redis, { prefix: `${PREFIX}-surrogate` })]) {
      await expect(store.create({ id: 'n\uD800' })).rejects.toThrow(InvalidNameError);
      const created = await store.create({ id: 'n\uD83D\uDE00', driver: 'ipmi\uD800', lastError: '\uDC00' });
      expect(created).toMatchObject({ id: 'n😀', driver: 'ipmi\uFFFD', lastError: '\uFFFD' });
      expect(await store.get('n😀')).toMatchObject({ driver: 'ipmi\uFFFD', lastError: '\uFFFD' });
    }
  });

  it('refuses a sparse from or state list instead of reading its holes as states (found by fuzzing)', async () => {
    for (const store of [new MemoryNodeStore(), new RedisNodeStore(redis, { prefix: `${PREFIX}-sparse` })]) {
      await store.create({ id: 'n1', provisionState: 'manageable' });
      // eslint-disable-next-line no-sparse-arrays
      const holes = [, 'manageable'] as unknown as ['manageable'];
      await expect(store.transition('n1', { from: holes, to: 'cleaning', fence: 1 })).rejects.toThrow(UnknownStateError);
      await expect(store.list({ state: holes })).rejects.toThrow(UnknownStateError);
      expect((await store.get('n1')).provisionState).toBe('manageable');
    }
  });
});

describe('fuzz: Conductor', () => {
  const conductorOptions = optionsOf({
    id: mostly(fc.constantFrom('c-1', 'c-2', 'fuzz-conductor', 'victim-owner'), 8),
    locks: mostly(fc.constant('the locks'), 8),
    nodes: mostly(fc.constant('the nodes'), 8),
    registry: mostly(fc.constant('the registry'), 8),
    version: mostly(fc.constantFrom('1.0', ''), 6),
    drivers: mostly(
      fc.oneof({ weight: 4, arbitrary: fc.array(fc.constantFrom('ipmi', 'redfish'), { maxLength: 2 }) }, fc.sparseArray(fc.constantFrom('ipmi'), { maxLength: 3 }), fc.array(oddString, { maxLength: 2 })),
      6,
    ),
    policy: fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      fc.dictionary(fc.oneof(fc.constantFrom(...PROVISION_STATES), fc.string()), fc.oneof(state, fc.constant(null)), { maxKeys: 3 }),
      oddValue,
    ),
    lockRetry: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, optionsOf({ attempts: mostly(fc.integer({ min: 1, max: 5 })), intervalMs: mostly(fc.integer({ min: 0, max: 100 })) })),
    stopTimeoutMs: mostly(fc.constantFrom(undefined, 0, 1_000), 8),
    meter: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, oddValue),
    logger: mostly(fc.constantFrom(silent, undefined), 8),
    allowEviction: mostly(fc.constantFrom(undefined, true, false), 8),
  }, 12);
  const real = new Map<unknown, () => unknown>([
    ['the locks', () => locks],
    ['the nodes', () => nodes],
    ['the registry', () => registry],
  ]);
  const resolve = (given: unknown): unknown =>
    typeof given === 'object' && given !== null && !Array.isArray(given)
      ? Object.fromEntries(Object.entries(given).map(([k, v]) => [k, real.get(v)?.() ?? v]))
      : given;

  it('new Conductor(options) works or throws a typed error; what it accepts is well-formed; stop(options) never throws synchronously', async () => {
    const tally = new Tally();
    const stopOptions = optionsOf({ timeoutMs: mostly(fc.constantFrom(0, 10), 4) });
    await fc.assert(
      fc.asyncProperty(conductorOptions, stopOptions, async (given, stop) => {
        const outcome = await mustBeTyped(`new Conductor(${render(given)})`, () => new Conductor(resolve(given) as ConductorOptions));
        tally.add(outcome);
        if (!outcome.ok) return;
        const made = outcome.value as Conductor;
        const o = made.options;
        expect(Object.isFrozen(o)).toBe(true);
        expect(o.drivers.every((d) => typeof d === 'string' && d.length > 0), `drivers ${render(o.drivers)}`).toBe(true);
        expect(Number.isInteger(o.lockRetry.attempts) && o.lockRetry.attempts >= 1).toBe(true);
        expect(Number.isInteger(o.lockRetry.intervalMs) && o.lockRetry.intervalMs >= 0).toBe(true);
        expect(typeof o.policy).toBe('function');
        expect(typeof o.allowEviction).toBe('boolean');
        const stopped = await mustBeTyped(`stop(${render(stop)})`, () => made.stop(stop as never));
        expect(stopped.ok || !stopped.sync, `stop(${render(stop)}) threw instead of rejecting`).toBe(true);
      }),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });

  it('withNode / reserve work or throw a typed error, and never hold another owner\'s node', async () => {
    // Only free-1 and free-2 exist in this conductor's store: aim most calls at them, or too few get past validation.
    const call = fc.record({
      method: fc.constantFrom('withNode', 'reserve'),
      nodeId: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('free-1', 'free-2') }, { weight: 2, arbitrary: nodeId }),
      options: optionsOf({
        purpose: mostly(fc.constantFrom('deploy', 'clean'), 6),
        signal: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, new AbortController().signal) }, oddValue),
      }),
    });
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(call, async ({ method, nodeId: id, options }) => {
        const what = `${method}(${render(id)}, ${render(options)})`;
        const outcome = await mustBeTyped(what, () =>
          method === 'withNode' ? conductor.withNode(id as string, options as never, (task) => task) : conductor.reserve(id as string, options as never),
        );
        tally.add(outcome);
        if (!outcome.ok) return;
        const task = outcome.value as NodeTask;
        expect(task).toBeInstanceOf(NodeTask);
        expect(task.nodeId).toBe(id);
        expect(task.nodeId).not.toBe('victim');
        await task.release();
      }),
      { numRuns: RUNS },
    );
    tally.expectSome();
    expect(conductor.activeTasks).toBe(0);
  });
});

describe('fuzz: RecoveryManager', () => {
  it('new RecoveryManager(options) works or throws a typed error', async () => {
    const options = optionsOf({
      locks: mostly(fc.constant('the locks'), 8),
      nodes: mostly(fc.constant('the nodes'), 8),
      subscriber: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, fc.constantFrom('the client', ['the client']), oddValue),
      sweepIntervalMs: mostly(fc.constantFrom(undefined, 10, 5_000), 8),
      policy: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, oddValue),
      concurrency: mostly(fc.constantFrom(undefined, 1, 32), 8),
      id: mostly(fc.constantFrom(undefined, 'r-1'), 8),
      eventLog: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, oddValue),
      audit: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, oddValue),
      meter: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, oddValue),
      logger: mostly(fc.constantFrom(silent, undefined), 8),
      allowEviction: mostly(fc.constantFrom(undefined, true, false), 8),
    }, 12);
    const real = new Map<unknown, () => unknown>([
      ['the locks', () => locks],
      ['the nodes', () => nodes],
      ['the client', () => redis],
    ]);
    const resolve = (v: unknown): unknown => real.get(v)?.() ?? (Array.isArray(v) && v.every((x) => x === 'the client') ? v.map(resolve) : v);
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(options, async (given) => {
        const resolved = typeof given === 'object' && given !== null && !Array.isArray(given) ? Object.fromEntries(Object.entries(given).map(([k, v]) => [k, resolve(v)])) : given;
        const outcome = await mustBeTyped(`new RecoveryManager(${render(given)})`, () => new RecoveryManager(resolved as RecoveryManagerOptions));
        tally.add(outcome);
        if (outcome.ok) expect(Object.isFrozen((outcome.value as RecoveryManager).options)).toBe(true);
      }),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });

  it('recoverNode(nodeId, options) works or throws a typed error, and never breaks a live lease without an audit log', async () => {
    const options = optionsOf({
      actor: mostly(fc.constantFrom('operator', 'victim-owner'), 6),
      reason: mostly(fc.constantFrom('stuck', ' ', ''), 4),
      force: mostly(fc.boolean(), 4),
    });
    await fc.assert(
      fc.asyncProperty(nodeId, options, async (id, given) => {
        await mustBeTyped(`recoverNode(${render(id)}, ${render(given)})`, () => recovery.recoverNode(id as string, given as never));
      }),
      { numRuns: RUNS },
    );
  });
});
