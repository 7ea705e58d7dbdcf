/**
 * The contract every NodeStore passes: one suite, run against each store by its own test file.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  InvalidFenceError,
  InvalidNameError,
  InvalidOptionError,
  InvalidStateError,
  NodeExistsError,
  NodeNotFoundError,
  StaleFenceError,
  UnknownOptionError,
  UnknownStateError,
  type NodeStore,
  type ProvisionStateValue,
} from 'leasehold';

/** How a contract run gets stores: a fresh, empty store per call (its own namespace), and an optional second handle on the same data. */
export interface StoreFactory {
  /** A new store over a fresh namespace. `twin()` returns another store object (another connection) on the same namespace. */
  (): Promise<{ store: NodeStore; twin: () => Promise<NodeStore> }>;
}

const id = (): string => `node-${randomUUID()}`;

/** Runs the shared NodeStore contract. */
export function nodeStoreContract(name: string, make: StoreFactory): void {
  describe(`${name} satisfies the NodeStore contract`, () => {
    it('creates a node with defaults and reads it back', async () => {
      const { store } = await make();
      const nodeId = id();
      const before = Date.now();
      const created = await store.create({ id: nodeId, driver: 'ipmi' });
      expect(created).toMatchObject({
        id: nodeId,
        provisionState: 'enroll',
        targetState: null,
        maintenance: false,
        driver: 'ipmi',
        lastError: null,
        fence: 0,
      });
      expect(created.updatedAt).toBeGreaterThanOrEqual(before - 5_000);
      expect(await store.get(nodeId)).toEqual(created);
    });

    it('keeps every field it was given, unicode included', async () => {
      const { store } = await make();
      const nodeId = `nœud-${randomUUID()}`;
      await store.create({
        id: nodeId,
        provisionState: 'wait call-back',
        targetState: 'active',
        maintenance: true,
        driver: 'redfish',
        lastError: 'PXE timeout – ☃',
      });
      expect(await store.get(nodeId)).toMatchObject({
        id: nodeId,
        provisionState: 'wait call-back',
        targetState: 'active',
        maintenance: true,
        driver: 'redfish',
        lastError: 'PXE timeout – ☃',
        fence: 0,
      });
    });

    it('refuses a duplicate id and leaves the first node alone', async () => {
      const { store } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'available' });
      await expect(store.create({ id: nodeId, provisionState: 'active' })).rejects.toBeInstanceOf(NodeExistsError);
      expect((await store.get(nodeId)).provisionState).toBe('available');
    });

    it('rejects unknown nodes with NodeNotFoundError', async () => {
      const { store } = await make();
      await expect(store.get(id())).rejects.toBeInstanceOf(NodeNotFoundError);
      await expect(store.transition(id(), { from: ['available'], to: 'deploying', fence: 1 })).rejects.toBeInstanceOf(NodeNotFoundError);
    });

    it('applies a fenced transition and stores the fence', async () => {
      const { store } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'available', lastError: 'old' });
      const written = await store.transition(nodeId, { from: ['available'], to: 'deploying', fence: 7, targetState: 'active' });
      expect(written).toMatchObject({ provisionState: 'deploying', targetState: 'active', fence: 7, lastError: 'old' });
      const again = await store.transition(nodeId, { from: ['deploying', 'wait call-back'], to: 'active', fence: 7, targetState: null, lastError: null });
      expect(again).toMatchObject({ provisionState: 'active', targetState: null, lastError: null, fence: 7 });
      expect(await store.get(nodeId)).toEqual(again);
    });

    it('can set maintenance in a transition and leaves it alone otherwise', async () => {
      const { store } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'manageable' });
      expect((await store.transition(nodeId, { from: ['manageable'], to: 'manageable', fence: 1, maintenance: true })).maintenance).toBe(true);
      expect((await store.transition(nodeId, { from: ['manageable'], to: 'cleaning', fence: 2 })).maintenance).toBe(true);
    });

    it('rejects a lower fence with StaleFenceError and writes nothing', async () => {
      const { store } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'available' });
      const newer = await store.transition(nodeId, { from: ['available'], to: 'deploying', fence: 10 });
      const error = await store.transition(nodeId, { from: ['deploying'], to: 'active', fence: 9 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StaleFenceError);
      expect(error).toMatchObject({ nodeId, fence: 9, storedFence: 10, code: 'STALE_FENCE' });
      expect(await store.get(nodeId)).toEqual(newer);
    });

    it('reports a stale fence before a state mismatch', async () => {
      const { store } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'available' });
      await store.transition(nodeId, { from: ['available'], to: 'cleaning', fence: 5 });
      await expect(store.transition(nodeId, { from: ['deploying'], to: 'deploy failed', fence: 4 })).rejects.toBeInstanceOf(StaleFenceError);
    });

    it('rejects a state that moved on with InvalidStateError and writes nothing', async () => {
      const { store } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'available' });
      const error = await store.transition(nodeId, { from: ['deploying', 'wait call-back'], to: 'active', fence: 3 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidStateError);
      expect(error).toMatchObject({ nodeId, actual: 'available', expected: ['deploying', 'wait call-back'], to: 'active' });
      expect(await store.get(nodeId)).toMatchObject({ provisionState: 'available', fence: 0 });
    });

    it('accepts an equal fence (the same holder writing again) and a higher one', async () => {
      const { store } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'available' });
      await store.transition(nodeId, { from: ['available'], to: 'cleaning', fence: 4 });
      await store.transition(nodeId, { from: ['cleaning'], to: 'clean wait', fence: 4 });
      expect((await store.transition(nodeId, { from: ['clean wait'], to: 'clean failed', fence: 2 ** 52 })).fence).toBe(2 ** 52);
    });

    it('lists by state, by several states and by maintenance, ordered by id', async () => {
      const { store } = await make();
      const tag = randomUUID();
      const specs: [string, ProvisionStateValue, boolean][] = [
        [`${tag}-c`, 'deploying', false],
        [`${tag}-a`, 'deploying', true],
        [`${tag}-b`, 'cleaning', false],
        [`${tag}-d`, 'active', true],
      ];
      for (const [nodeId, provisionState, maintenance] of specs) await store.create({ id: nodeId, provisionState, maintenance });
      const ids = (nodes: { id: string }[]): string[] => nodes.map((n) => n.id).filter((n) => n.startsWith(tag));
      expect(ids(await store.list({ state: 'deploying' }))).toEqual([`${tag}-a`, `${tag}-c`]);
      expect(ids(await store.list({ state: ['cleaning', 'active'] }))).toEqual([`${tag}-b`, `${tag}-d`]);
      expect(ids(await store.list({ maintenance: true }))).toEqual([`${tag}-a`, `${tag}-d`]);
      expect(ids(await store.list({ state: 'deploying', maintenance: false }))).toEqual([`${tag}-c`]);
      expect(ids(await store.list())).toEqual([`${tag}-a`, `${tag}-b`, `${tag}-c`, `${tag}-d`]);
      await store.transition(`${tag}-c`, { from: ['deploying'], to: 'deploy failed', fence: 1 });
      expect(ids(await store.list({ state: 'deploying' }))).toEqual([`${tag}-a`]);
      expect(ids(await store.list({ state: 'deploy failed' }))).toEqual([`${tag}-c`]);
    });

    it('lets exactly one of many concurrent writers with the same expected state win', async () => {
      const { store, twin } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'available' });
      const stores = [store, ...(await Promise.all([twin(), twin(), twin()]))];
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => stores[i % stores.length]!.transition(nodeId, { from: ['available'], to: 'deploying', fence: 1 + i })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toSatisfy((e) => e instanceof InvalidStateError || e instanceof StaleFenceError);
    });

    it('never lets the stored fence go down under concurrent writers', async () => {
      const { store, twin } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'cleaning' });
      const stores = [store, ...(await Promise.all([twin(), twin()]))];
      const fences = Array.from({ length: 30 }, (_, i) => ((i * 7919) % 30) + 1);
      const results = await Promise.allSettled(
        fences.map((fence, i) => stores[i % stores.length]!.transition(nodeId, { from: ['cleaning'], to: 'cleaning', fence })),
      );
      const accepted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [fences[i]!] : []));
      expect(accepted).toContain(30);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StaleFenceError);
      expect((await store.get(nodeId)).fence).toBe(30);
    });

    it('rejects bad input with typed errors and writes nothing', async () => {
      const { store } = await make();
      const nodeId = id();
      await store.create({ id: nodeId, provisionState: 'available' });
      const bad = (value: unknown): never => value as never;
      await expect(store.get('')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(store.get(bad(42))).rejects.toBeInstanceOf(InvalidNameError);
      await expect(store.get('x'.repeat(256))).rejects.toBeInstanceOf(InvalidNameError);
      await expect(store.create(bad(undefined))).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(store.create({ id: '' })).rejects.toBeInstanceOf(InvalidNameError);
      await expect(store.create({ id: id(), provisionState: bad('deploy') })).rejects.toBeInstanceOf(UnknownStateError);
      await expect(store.create({ id: id(), maintenance: bad('yes') })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(store.create(bad({ id: id(), color: 'red' }))).rejects.toBeInstanceOf(UnknownOptionError);
      await expect(store.list(bad({ state: 'nope' }))).rejects.toBeInstanceOf(UnknownStateError);
      await expect(store.list(bad({ maintenance: 1 }))).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(store.transition(nodeId, { from: ['available'], to: bad('Deploying'), fence: 1 })).rejects.toBeInstanceOf(UnknownStateError);
      await expect(store.transition(nodeId, { from: [bad('availble')], to: 'deploying', fence: 1 })).rejects.toBeInstanceOf(UnknownStateError);
      await expect(store.transition(nodeId, { from: [], to: 'deploying', fence: 1 })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(store.transition(nodeId, { from: bad('available'), to: 'deploying', fence: 1 })).rejects.toBeInstanceOf(InvalidOptionError);
      for (const fence of [0, -1, 1.5, Number.NaN, 2 ** 53, '3']) {
        await expect(store.transition(nodeId, { from: ['available'], to: 'deploying', fence: bad(fence) })).rejects.toBeInstanceOf(InvalidFenceError);
      }
      await expect(store.transition(nodeId, bad({ from: ['available'], to: 'deploying', fence: 1, force: true }))).rejects.toBeInstanceOf(UnknownOptionError);
      await expect(store.transition('', { from: ['available'], to: 'deploying', fence: 1 })).rejects.toBeInstanceOf(InvalidNameError);
      expect(await store.get(nodeId)).toMatchObject({ provisionState: 'available', fence: 0 });
    });
  });
}
