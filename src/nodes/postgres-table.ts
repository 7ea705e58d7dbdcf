/**
 * What `PostgresNodeStore` and `migrate()` share: the narrow client type, the table options and how they are
 * checked and quoted, and the one place PostgreSQL errors become leasehold errors.
 *
 * @packageDocumentation
 */
import type { Pool } from 'pg';
import { BackendError, InvalidNameError, InvalidOptionError } from '../lock/errors.js';
import { checkOptions, show } from '../lock/validate.js';

/**
 * What leasehold needs of a `pg` client: the `query` method of a `Pool`. Pass a `Pool` (recommended: each
 * statement may run on any of its connections, and every write is one statement), or anything with the same
 * `query`. leasehold never creates, connects or ends it.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 *
 * const pool: PostgresQueryable = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
 * await migrate(pool);
 * const nodes = new PostgresNodeStore(pool);
 * ```
 */
export type PostgresQueryable = Pick<Pool, 'query'>;

/**
 * Where the node table lives. Shared by `new PostgresNodeStore(pool, options)` and `migrate(pool, options)`.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const table: PostgresTableOptions = { schema: 'conductor', table: 'nodes' }; // "conductor"."nodes"
 * await migrate(pool, table);
 * const nodes = new PostgresNodeStore(pool, table); // the same options as the migration
 * ```
 */
export interface PostgresTableOptions {
  /**
   * Schema of the table, created by `migrate()` when missing. When omitted, the table name is left unqualified and
   * PostgreSQL resolves it through the connection's `search_path` (normally `public`).
   * A letter or underscore, then letters, digits and underscores, at most 63 bytes, not starting with `pg_`.
   * @defaultValue none: the `search_path`
   * @example `"conductor"`
   */
  readonly schema?: string;
  /**
   * Name of the node table. A letter or underscore, then letters, digits and underscores, at most 40 bytes (so the
   * names PostgreSQL derives from it, such as `<table>_provision_state_check`, fit in its 63-byte limit).
   * @defaultValue `"leasehold_nodes"`
   * @example `"nodes"`
   */
  readonly table?: string;
}

/**
 * Defaults of {@link PostgresTableOptions}.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool); // the table leasehold_nodes, in the search_path
 * const { rows } = await pool.query(`SELECT id FROM ${POSTGRES_TABLE_DEFAULTS.table} WHERE provision_state = $1`, ['deploy failed']);
 * ```
 */
export const POSTGRES_TABLE_DEFAULTS = Object.freeze({
  /** The table is `leasehold_nodes`. */
  table: 'leasehold_nodes',
} as const);

const OPTION_KEYS = ['schema', 'table'] as const;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_SCHEMA_BYTES = 63;
const MAX_TABLE_BYTES = 40;

/** A checked table location: the names as given, and the quoted, qualified name to put in SQL. */
export interface TableName {
  /** The schema as given, or `null` for the `search_path`. */
  readonly schema: string | null;
  /** The table as given (or its default). */
  readonly table: string;
  /** `"schema"."table"` or `"table"`: safe to interpolate into SQL. */
  readonly sql: string;
}

/** Quotes a checked identifier for SQL. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Checks that `who` (`"PostgresNodeStore"`, `"migrate()"`) was given something with a `query` method. */
export function checkQueryable(who: string, pool: unknown): PostgresQueryable {
  if (typeof pool !== 'object' || pool === null || typeof (pool as { query?: unknown }).query !== 'function') {
    throw new InvalidOptionError(`${who} needs a pg Pool (or anything with its query method) as its first argument; got ${show(pool)}.`);
  }
  return pool as PostgresQueryable;
}

/** Checks the table options of `who` and resolves the table name. */
export function resolveTable(who: string, options: unknown): TableName {
  const given = checkOptions<PostgresTableOptions>(`${who} options`, options, OPTION_KEYS);
  const schema = given.schema === undefined ? null : checkIdentifier(`${who} schema`, given.schema, MAX_SCHEMA_BYTES);
  if (schema !== null && /^pg_/i.test(schema)) {
    throw new InvalidNameError(`${who} schema must not start with "pg_" (PostgreSQL reserves those names); got ${show(schema)}.`);
  }
  const table = checkIdentifier(`${who} table`, given.table ?? POSTGRES_TABLE_DEFAULTS.table, MAX_TABLE_BYTES);
  const sql = schema === null ? quoteIdentifier(table) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  return { schema, table, sql };
}

function checkIdentifier(what: string, value: unknown, maxBytes: number): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > maxBytes) {
    throw new InvalidNameError(
      `${what} must be a letter or underscore followed by letters, digits and underscores, at most ${maxBytes} characters; got ${show(value)}.`,
    );
  }
  return value;
}

/** The SQLSTATE of a `pg` error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The one place a PostgreSQL (or connection) failure becomes a leasehold error: a {@link BackendError} whose
 * `cause` is the original error. Errors that already are leasehold errors pass through.
 */
export function backendError(error: unknown, table: TableName, during: string): Error {
  if (error instanceof BackendError) return error;
  const state = sqlState(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (state === '42P01' || state === '3F000') {
    return new BackendError(
      `PostgreSQL has no table ${table.sql} (${detail}) during ${during}: run migrate(pool, { schema, table }) from ` +
        "'leasehold/postgres' first, with the same options as the store.",
      { cause: error },
    );
  }
  return BackendError.wrap(error, `PostgreSQL ${during} on ${table.sql}${state ? ` (SQLSTATE ${state})` : ''}`);
}
