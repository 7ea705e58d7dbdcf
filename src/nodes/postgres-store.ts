/**
 * `PostgresNodeStore`: nodes in a PostgreSQL table, every fenced write one conditional `UPDATE`.
 *
 * @packageDocumentation
 */
import { BackendError, InvalidNameError, InvalidOptionError } from '../lock/errors.js';
import { show } from '../lock/validate.js';
import { NodeExistsError, NodeNotFoundError } from './errors.js';
import type { NewNode, Node, NodeQuery, Transition } from './node.js';
import {
  backendError,
  checkQueryable,
  resolveTable,
  sqlState,
  type PostgresQueryable,
  type PostgresTableOptions,
  type TableName,
} from './postgres-table.js';
import { isProvisionState } from './states.js';
import type { NodeStore } from './store.js';
import { checkNewNode, checkNodeId, checkQuery, checkTransition, transitionError } from './validate.js';

/**
 * The columns every statement returns. Fence, timestamp and flag come back as text, so they decode the same
 * whatever type parsers the pool was given (pg returns `bigint` as a string by default; many apps change that).
 */
const COLUMNS =
  'id, provision_state, target_state, maintenance::text AS maintenance, driver, last_error, fence::text AS fence, ' +
  'floor(extract(epoch FROM updated_at) * 1000)::bigint::text AS updated_ms';

/** A row as {@link COLUMNS} selects it, before it is checked. */
type Row = Record<'id' | 'provision_state' | 'target_state' | 'maintenance' | 'driver' | 'last_error' | 'fence' | 'updated_ms', unknown>;

/** SQLSTATE unique_violation: the primary key is taken. */
const UNIQUE_VIOLATION = '23505';

/**
 * A {@link NodeStore} in a PostgreSQL table (create it with `migrate()`), shared by every process that uses the
 * same database. Reads need no lease; every fenced write is one conditional `UPDATE`, so PostgreSQL applies the
 * compare-and-set atomically and concurrent writers serialize on the row.
 *
 * Arguments are checked before anything is sent: bad input rejects with the same typed errors as every store and
 * writes nothing. PostgreSQL failures reject with `BackendError`, the `pg` error as its `cause`. Ids are listed in
 * code point order (`COLLATE "C"`), which is JavaScript's string order for every id without characters beyond
 * U+FFFF. PostgreSQL text cannot hold U+0000: ids, drivers and errors containing it are refused.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { PostgresNodeStore, migrate } from 'leasehold/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool, { schema: 'conductor' });
 * const nodes = new PostgresNodeStore(pool, { schema: 'conductor' });
 * await nodes.create({ id: 'node-1', provisionState: 'available', driver: 'ipmi' });
 * ```
 */
export class PostgresNodeStore implements NodeStore {
  /** The table in use, quoted and qualified as it appears in SQL, e.g. `"conductor"."leasehold_nodes"`. */
  readonly table: string;
  readonly #pool: PostgresQueryable;
  readonly #name: TableName;

  /**
   * @param pool - a `pg` `Pool` (or anything with its `query` method); leasehold never connects or ends it.
   * @param options - where the table is; the same options as `migrate()`.
   * @throws `InvalidOptionError` when `pool` has no `query` method, `UnknownOptionError` for an unknown option,
   * `InvalidNameError` for a schema or table that is not a plain SQL identifier.
   */
  constructor(pool: PostgresQueryable, options?: PostgresTableOptions) {
    this.#pool = checkQueryable('PostgresNodeStore', pool);
    this.#name = resolveTable('PostgresNodeStore', options);
    this.table = this.#name.sql;
  }

  /** The node with this id; rejects with `NodeNotFoundError` when there is none. One `SELECT`. */
  async get(id: string): Promise<Node> {
    checkStoredText(checkNodeId(id), 'A node id', InvalidNameError);
    const node = await this.#read(id, 'get()');
    if (node === null) throw new NodeNotFoundError(id);
    return node;
  }

  /** Nodes matching the query, ordered by id (code point order). One `SELECT`, using the state index when filtered by state. */
  async list(query?: NodeQuery): Promise<Node[]> {
    const { states, maintenance } = checkQuery(query);
    const where: string[] = [];
    const values: unknown[] = [];
    if (states !== null) {
      values.push(states);
      where.push(`provision_state = ANY($${values.length}::text[])`);
    }
    if (maintenance !== undefined) {
      values.push(maintenance);
      where.push(`maintenance = $${values.length}::boolean`);
    }
    const sql = `SELECT ${COLUMNS} FROM ${this.table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id COLLATE "C"`;
    const rows = await this.#query(sql, values, 'list()');
    return rows.map((row) => this.#decode(row));
  }

  /** Creates a node with fence 0; rejects with `NodeExistsError` when the id is taken. One `INSERT`. */
  async create(node: NewNode): Promise<Node> {
    const fields = checkNewNode(node);
    checkStoredText(fields.id, 'A node id', InvalidNameError);
    checkStoredText(fields.driver, 'driver', InvalidOptionError);
    if (fields.lastError !== null) checkStoredText(fields.lastError, 'lastError', InvalidOptionError);
    const sql =
      `INSERT INTO ${this.table} (id, provision_state, target_state, maintenance, driver, last_error, fence) ` +
      `VALUES ($1::text, $2::text, $3::text, $4::boolean, $5::text, $6::text, 0) RETURNING ${COLUMNS}`;
    const values = [fields.id, fields.provisionState, fields.targetState, fields.maintenance, fields.driver, fields.lastError];
    let rows: Row[];
    try {
      rows = await this.#query(sql, values, 'create()');
    } catch (error) {
      if (error instanceof BackendError && sqlState(error.cause) === UNIQUE_VIOLATION) throw new NodeExistsError(fields.id);
      throw error;
    }
    return this.#decode(this.#one(rows, 'create()'));
  }

  /**
   * The fenced compare-and-set: one `UPDATE … WHERE id = $1 AND fence <= $fence AND provision_state = ANY($from)
   * RETURNING …`. When it updates nothing, the node is read once to say why (`NodeNotFoundError`,
   * `StaleFenceError` or `InvalidStateError`); nothing is ever written from that read.
   */
  async transition(id: string, transition: Transition): Promise<Node> {
    const t = checkTransition(id, transition);
    checkStoredText(id, 'A node id', InvalidNameError);
    if (typeof t.lastError === 'string') checkStoredText(t.lastError, 'lastError', InvalidOptionError);
    const values: unknown[] = [id, t.to, t.fence, t.from];
    const set = ['provision_state = $2::text', 'fence = $3::bigint', 'updated_at = now()'];
    if (t.targetState !== undefined) {
      values.push(t.targetState);
      set.push(`target_state = $${values.length}::text`);
    }
    if (t.lastError !== undefined) {
      values.push(t.lastError);
      set.push(`last_error = $${values.length}::text`);
    }
    if (t.maintenance !== undefined) {
      values.push(t.maintenance);
      set.push(`maintenance = $${values.length}::boolean`);
    }
    const sql =
      `UPDATE ${this.table} SET ${set.join(', ')} ` +
      `WHERE id = $1::text AND fence <= $3::bigint AND provision_state = ANY($4::text[]) RETURNING ${COLUMNS}`;
    const rows = await this.#query(sql, values, 'transition()');
    if (rows.length > 0) return this.#decode(this.#one(rows, 'transition()'));
    throw transitionError(id, await this.#read(id, 'transition()'), t);
  }

  async #read(id: string, during: string): Promise<Node | null> {
    const rows = await this.#query(`SELECT ${COLUMNS} FROM ${this.table} WHERE id = $1::text`, [id], during);
    return rows.length === 0 ? null : this.#decode(this.#one(rows, during));
  }

  async #query(sql: string, values: unknown[], during: string): Promise<Row[]> {
    try {
      const result = await this.#pool.query<Row>(sql, values);
      return result.rows;
    } catch (error) {
      throw backendError(error, this.#name, during);
    }
  }

  #one(rows: Row[], during: string): Row {
    const [row] = rows;
    if (row === undefined || rows.length !== 1) {
      throw new BackendError(`PostgreSQL returned ${rows.length} rows from ${this.table} during ${during}; expected exactly one.`);
    }
    return row;
  }

  /** A row as a frozen {@link Node}, or a `BackendError` when the table holds something no store wrote. */
  #decode(row: Row): Node {
    const fence = Number(row.fence);
    const updatedAt = Number(row.updated_ms);
    const target = row.target_state;
    if (
      typeof row.id !== 'string' ||
      !isProvisionState(row.provision_state) ||
      (target !== null && !isProvisionState(target)) ||
      (row.maintenance !== 'true' && row.maintenance !== 'false') ||
      typeof row.driver !== 'string' ||
      (row.last_error !== null && typeof row.last_error !== 'string') ||
      typeof row.fence !== 'string' ||
      !Number.isSafeInteger(fence) ||
      fence < 0 ||
      typeof row.updated_ms !== 'string' ||
      !Number.isSafeInteger(updatedAt)
    ) {
      throw new BackendError(
        `PostgreSQL returned a row of ${this.table} that is not a node leasehold wrote (id ${show(row.id)}, ` +
          `provision_state ${show(row.provision_state)}, fence ${show(row.fence)}); was the table changed by hand?`,
      );
    }
    return Object.freeze({
      id: row.id,
      provisionState: row.provision_state,
      targetState: target,
      maintenance: row.maintenance === 'true',
      driver: row.driver,
      lastError: row.last_error,
      fence,
      updatedAt,
    });
  }
}

/** PostgreSQL `text` cannot hold U+0000: refuse it before sending, as the other argument checks do. */
function checkStoredText(value: string, what: string, ErrorClass: typeof InvalidNameError | typeof InvalidOptionError): void {
  if (value.includes('\u0000')) {
    throw new ErrorClass(`${what} must not contain the NUL character (U+0000): PostgreSQL text cannot store it; got ${show(value)}.`);
  }
}
