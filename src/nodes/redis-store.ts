import { BackendError, InvalidNameError, InvalidOptionError } from '../lock/errors.js';
import type { RedisClient } from '../lock/redis/script-set.js';
import { checkName, checkOptions } from '../lock/validate.js';
import { NodeExistsError, NodeNotFoundError } from './errors.js';
import type { NewNode, Node, NodeQuery, Transition } from './node.js';
import { NodeKeys } from './redis/keys.js';
import { nodeScripts, type NodeScriptName } from './redis/scripts.js';
import { isProvisionState, type ProvisionStateValue } from './states.js';
import type { NodeStore } from './store.js';
import { checkNewNode, checkNodeId, checkQuery, checkTransition, transitionError } from './validate.js';

/**
 * Options of {@link RedisNodeStore}.
 *
 * @example
 * ```ts
 * const options: RedisNodeStoreOptions = { prefix: 'ironic-prod' }; // keys {ironic-prod}:node:<id>, ...: one Cluster slot
 * const nodes = new RedisNodeStore(redis, options);
 * ```
 */
export interface RedisNodeStoreOptions {
  /**
   * Names the store: every key it writes starts with `{<prefix>}`, which is also the keys' Cluster hash tag. Give
   * each deployment (and each test) its own. It may be the prefix a `RedisBackend` uses: their keys never clash.
   * Must not contain `{` or `}`.
   * @defaultValue `"leasehold"`
   * @example `"ironic-prod"`
   */
  readonly prefix?: string;
}

/**
 * Defaults of {@link RedisNodeStoreOptions}.
 *
 * @example
 * ```ts
 * const nodes = new RedisNodeStore(redis); // the default prefix
 * const ids = await redis.smembers(`{${REDIS_NODE_STORE_DEFAULTS.prefix}}:all`); // every node id, read by hand
 * ```
 */
export const REDIS_NODE_STORE_DEFAULTS = Object.freeze({
  /** Keys start with `{leasehold}`. */
  prefix: 'leasehold',
} as const);

const OPTION_KEYS = ['prefix'] as const;

/** The hash fields of a node, in the order scripts/lib.lua's `read_node` returns them. */
const FIELDS = ['provisionState', 'targetState', 'maintenance', 'driver', 'lastError', 'fence', 'updatedAt'] as const;

/** Ids read per SSCAN page (a hint to Redis), and so the most node reads sent in one pipeline. */
const SCAN_COUNT = 1000;

/**
 * A {@link NodeStore} kept in Redis, through the ioredis client you pass in (a standalone or Sentinel-managed
 * `Redis`, or a `Cluster`; the store never creates or closes it). Processes that share a Redis and a prefix share
 * the nodes.
 *
 * Each write is one Lua script, run atomically by Redis in one round trip: `create()` refuses a taken id,
 * `transition()` checks the stored fence and the expected states and writes the node and its indexes, or writes
 * nothing. Timestamps come from the Redis server's clock. Reads are plain commands: `get()` one `HMGET`; `list()`
 * scans the index set of each state asked for (`SSCAN`, pages of about 1,000) and reads each page's nodes in one
 * pipeline, so each node is returned as it was at one instant but a list is not a snapshot of the whole store: a
 * node moved meanwhile is returned in its new state if that state was asked for.
 *
 * On a Redis Cluster every key of one store shares the hash tag `{<prefix>}`: a store lives in one slot, hence
 * on one master, as a SQL table lives on one server (its replicas take over on failover). Spread load by giving
 * independent node populations their own prefixes. Key layout:
 *
 * | key                          | type | holds                                                              |
 * |------------------------------|------|--------------------------------------------------------------------|
 * | `{<prefix>}:node:<id>`       | hash | `provisionState`, `targetState`, `maintenance` (`1`/`0`), `driver`, `lastError`, `fence`, `updatedAt` (server ms) |
 * | `{<prefix>}:state:<state>`   | set  | ids of the nodes in that provision state                           |
 * | `{<prefix>}:all`             | set  | every node id                                                      |
 * | `{<prefix>}:maintenance`     | set  | ids of the nodes in maintenance                                    |
 *
 * A `null` target state or last error is an absent hash field (an empty string is a present, empty one).
 *
 * @example
 * ```ts
 * const nodes = new RedisNodeStore(new Redis('redis://127.0.0.1:6380'), { prefix: 'ironic-prod' });
 * await nodes.create({ id: 'node-1', provisionState: 'available', driver: 'ipmi' });
 * await nodes.transition('node-1', { from: ['available'], to: 'deploying', fence: lease.fence, targetState: 'active' });
 * ```
 */
export class RedisNodeStore implements NodeStore {
  /** The prefix in use: every key of this store starts with `{<prefix>}`. */
  readonly prefix: string;
  readonly #client: RedisClient;
  readonly #keys: NodeKeys;

  /**
   * @param client - an ioredis `Redis` or `Cluster` client; its scripts are defined on it once.
   * @param options - see {@link RedisNodeStoreOptions}.
   * @throws `InvalidOptionError` when `client` is not an ioredis client, `UnknownOptionError` for an unknown option,
   *   `InvalidNameError` for a bad prefix.
   */
  constructor(client: RedisClient, options?: RedisNodeStoreOptions) {
    if (typeof client !== 'object' || client === null || typeof (client as { defineCommand?: unknown }).defineCommand !== 'function') {
      throw new InvalidOptionError('RedisNodeStore needs an ioredis Redis or Cluster client as its first argument.');
    }
    const given = checkOptions<RedisNodeStoreOptions>('RedisNodeStore options', options, OPTION_KEYS);
    const prefix = checkName('RedisNodeStore prefix', given.prefix === undefined ? REDIS_NODE_STORE_DEFAULTS.prefix : given.prefix);
    if (/[{}]/.test(prefix)) {
      throw new InvalidNameError(
        `RedisNodeStore prefix must not contain "{" or "}": it is the keys' Cluster hash tag; got ${JSON.stringify(prefix)}.`,
      );
    }
    this.prefix = prefix;
    this.#client = client;
    this.#keys = new NodeKeys(prefix);
    nodeScripts.define(client);
  }

  /** The ioredis client this store uses (yours: leasehold never closes it). */
  get client(): RedisClient {
    return this.#client;
  }

  /** Reads one node (one `HMGET`). Rejects with `NodeNotFoundError` when there is none. */
  async get(id: string): Promise<Node> {
    checkNodeId(id);
    const fields = await this.#redis(() => this.#client.hmget(this.#keys.node(id), ...FIELDS));
    const node = decodeNode(id, fields);
    if (node === null) throw new NodeNotFoundError(id);
    return node;
  }

  /**
   * Lists nodes, ordered by id (plain string order). A state filter scans only those states' index sets, a
   * `maintenance: true` filter alone only the maintenance set; no filter scans the set of every id.
   */
  async list(query?: NodeQuery): Promise<Node[]> {
    const { states, maintenance } = checkQuery(query);
    const sets =
      states !== null ? states.map((state) => this.#keys.state(state)) : maintenance === true ? [this.#keys.maintenance] : [this.#keys.all];
    const seen = new Set<string>();
    const reads: Promise<(Node | null)[]>[] = [];
    await Promise.all(
      sets.map((set) =>
        this.#scan(set, (ids) => {
          // A node that moves between two scanned sets during the scan can be met twice.
          const fresh = ids.filter((id) => {
            if (seen.has(id)) return false;
            seen.add(id);
            return true;
          });
          if (fresh.length === 0) return;
          const read = this.#read(fresh);
          read.catch(() => undefined); // awaited below; keeps a failed read from being unhandled if a scan fails first
          reads.push(read);
        }),
      ),
    );
    const nodes: Node[] = [];
    for (const page of await Promise.all(reads)) {
      for (const node of page) {
        if (node === null) continue;
        if (states !== null && !states.includes(node.provisionState)) continue; // it moved on since it was scanned
        if (maintenance !== undefined && node.maintenance !== maintenance) continue;
        nodes.push(node);
      }
    }
    return nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Creates a node with fence 0 (one script call, see redis/scripts/create-4.lua). */
  async create(node: NewNode): Promise<Node> {
    const n = checkNewNode(node);
    const k = this.#keys;
    const reply = await this.#script('create', [
      k.node(n.id),
      k.all,
      k.state(n.provisionState),
      k.maintenance,
      n.id,
      n.provisionState,
      nullable(n.targetState),
      n.maintenance ? '1' : '0',
      n.driver,
      nullable(n.lastError),
    ]);
    if (reply[0] === 'exists') throw new NodeExistsError(n.id);
    if (reply[0] === 'created') {
      const created = decodeNode(n.id, reply[1]);
      if (created !== null) return created;
    }
    throw unexpected('create', reply);
  }

  /**
   * The fenced compare-and-set (one script call, see redis/scripts/transition.lua). The script is handed the node's
   * key, the `to` state's set and every `from` state's set: all the keys it can touch.
   */
  async transition(id: string, transition: Transition): Promise<Node> {
    const t = checkTransition(id, transition);
    const k = this.#keys;
    const keys = [k.node(id), k.maintenance, k.state(t.to), ...t.from.map((state) => k.state(state))];
    const reply = await this.#script('transition', [
      keys.length,
      ...keys,
      id,
      String(t.fence),
      t.to,
      t.targetState === undefined ? 'keep' : nullable(t.targetState),
      t.lastError === undefined ? 'keep' : nullable(t.lastError),
      t.maintenance === undefined ? 'keep' : t.maintenance ? '1' : '0',
      ...t.from,
    ]);
    switch (reply[0]) {
      case 'applied': {
        const written = decodeNode(id, reply[1]);
        if (written !== null) return written;
        break;
      }
      case 'missing':
        throw transitionError(id, null, t);
      case 'stale':
      case 'state':
        throw transitionError(id, { provisionState: decodeState(id, reply[1]), fence: decodeInteger(id, 'fence', reply[2]) }, t);
    }
    throw unexpected('transition', reply);
  }

  /** Scans one set page by page, handing each page's members to `onPage` as it arrives. */
  async #scan(set: string, onPage: (ids: string[]) => void): Promise<void> {
    let cursor = '0';
    do {
      const [next, members] = await this.#redis(() => this.#client.sscan(set, cursor, 'COUNT', SCAN_COUNT));
      onPage(members);
      cursor = next;
    } while (cursor !== '0');
  }

  /** Reads nodes in one pipeline (one round trip); `null` where a node is gone. */
  async #read(ids: readonly string[]): Promise<(Node | null)[]> {
    const pipeline = this.#client.pipeline();
    for (const id of ids) pipeline.hmget(this.#keys.node(id), ...FIELDS);
    const replies = await this.#redis(() => pipeline.exec());
    return ids.map((id, i) => {
      const [error, fields] = replies?.[i] ?? [new Error('the pipeline returned no reply'), null];
      if (error) throw BackendError.wrap(error);
      return decodeNode(id, fields);
    });
  }

  async #script(name: NodeScriptName, args: (string | number)[]): Promise<unknown[]> {
    const reply = await this.#redis(() => nodeScripts.call(this.#client, name, args));
    if (!Array.isArray(reply) || typeof reply[0] !== 'string') throw unexpected(name, reply);
    return reply as unknown[];
  }

  /** Runs one Redis call, turning its failure into a {@link BackendError} with the failure as `cause`. */
  async #redis<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      throw BackendError.wrap(cause);
    }
  }
}

/** A nullable value as the scripts take it: `'null'`, or `'='` followed by the value. */
function nullable(value: string | null): string {
  return value === null ? 'null' : `=${value}`;
}

/** A node from its hash fields in {@link FIELDS} order; `null` when the node does not exist. */
function decodeNode(id: string, fields: unknown): Node | null {
  if (!Array.isArray(fields) || fields.length !== FIELDS.length) throw unexpected('node read', fields);
  const [state, target, maintenance, driver, lastError, fence, updatedAt] = fields as unknown[];
  if (state === null || state === undefined) return null;
  if (maintenance !== '1' && maintenance !== '0') throw corrupt(id, 'maintenance', maintenance);
  if (typeof driver !== 'string') throw corrupt(id, 'driver', driver);
  if (lastError !== null && typeof lastError !== 'string') throw corrupt(id, 'lastError', lastError);
  const node: Node = {
    id,
    provisionState: decodeState(id, state),
    targetState: target === null ? null : decodeState(id, target),
    maintenance: maintenance === '1',
    driver,
    lastError,
    fence: decodeInteger(id, 'fence', fence),
    updatedAt: decodeInteger(id, 'updatedAt', updatedAt),
  };
  return Object.freeze(node);
}

function decodeState(id: string, value: unknown): ProvisionStateValue {
  if (!isProvisionState(value)) throw corrupt(id, 'a provision state', value);
  return value;
}

function decodeInteger(id: string, what: string, value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw corrupt(id, what, value);
  return n;
}

function corrupt(id: string, what: string, value: unknown): BackendError {
  return new BackendError(`Node "${id}" holds an unreadable ${what} in Redis: ${JSON.stringify(value) ?? String(value)}.`);
}

function unexpected(what: string, reply: unknown): BackendError {
  return new BackendError(`Redis answered ${what} with something unexpected: ${JSON.stringify(reply) ?? String(reply)}.`);
}
