/**
 * The node table's schema, created by {@link migrate}.
 *
 * @packageDocumentation
 */
import { backendError, checkQueryable, quoteIdentifier, resolveTable, type PostgresQueryable, type PostgresTableOptions } from './postgres-table.js';
import { PROVISION_STATES } from './states.js';

/**
 * Advisory lock keys (two int4s) that serialize every leasehold migration in a database, so two processes that
 * migrate at once (two conductors starting together) never race on PostgreSQL's catalogs.
 * 0x6c736864 is "lshd"; the second key is the migration's version.
 */
const MIGRATION_LOCK = [0x6c736864, 1] as const;

const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/**
 * The SQL {@link migrate} runs for these options, as one string of statements: take the migration lock, then
 * create the schema, the table and its index if they are missing. For review, and for users who apply migrations
 * with their own tool (run it as one transaction). Throws `UnknownOptionError` or `InvalidNameError` for bad
 * options.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { migrationSql } from 'leasehold/postgres';
 *
 * writeFileSync('migrations/0042_leasehold_nodes.sql', `${migrationSql({ schema: 'conductor' })};\n`);
 * ```
 */
export function migrationSql(options?: PostgresTableOptions): string {
  const name = resolveTable('migrationSql()', options);
  const states = PROVISION_STATES.map(literal).join(', ');
  const index = quoteIdentifier(`${name.table}_provision_state_idx`);
  return [
    `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK[0]}, ${MIGRATION_LOCK[1]})`,
    ...(name.schema === null ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(name.schema)}`]),
    `CREATE TABLE IF NOT EXISTS ${name.sql} (
  id text COLLATE "C" PRIMARY KEY,
  provision_state text NOT NULL CHECK (provision_state IN (${states})),
  target_state text NULL CHECK (target_state IN (${states})),
  maintenance boolean NOT NULL DEFAULT false,
  driver text NOT NULL DEFAULT '',
  last_error text NULL,
  fence bigint NOT NULL DEFAULT 0 CHECK (fence >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
    `CREATE INDEX IF NOT EXISTS ${index} ON ${name.sql} (provision_state)`,
  ].join(';\n');
}

/**
 * Creates the node table of a `PostgresNodeStore` (and its schema, when one is named) if they are missing.
 * Idempotent: run it at every start. Safe to run from several processes at once: it runs as one transaction that
 * first takes a database-wide advisory lock, so concurrent migrations wait for each other instead of racing.
 *
 * The table: `id text PRIMARY KEY` (collation `"C"`, so ids sort by code point), `provision_state text NOT NULL`
 * and `target_state text NULL` (each `CHECK`ed against `PROVISION_STATES`), `maintenance boolean`, `driver text`,
 * `last_error text NULL`, `fence bigint` (`CHECK (fence >= 0)`), `created_at` and `updated_at timestamptz`, and an
 * index on `provision_state`. An existing table is left as it is.
 *
 * Rejects with `InvalidOptionError`, `UnknownOptionError` or `InvalidNameError` for bad arguments (nothing is
 * sent), and with `BackendError` (the `pg` error as `cause`) when PostgreSQL fails.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { PostgresNodeStore, migrate } from 'leasehold/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool, { schema: 'conductor' });
 * const nodes = new PostgresNodeStore(pool, { schema: 'conductor' });
 * ```
 */
export async function migrate(pool: PostgresQueryable, options?: PostgresTableOptions): Promise<void> {
  checkQueryable('migrate()', pool);
  const name = resolveTable('migrate()', options);
  const sql = migrationSql(options);
  try {
    // No parameters, so pg sends it as one simple query: PostgreSQL runs its statements as one transaction.
    await pool.query(sql);
  } catch (error) {
    throw backendError(error, name, 'migrate()');
  }
}
