/**
 * leasehold/postgres: the PostgreSQL node store, a subpath of its own so that only its users need `pg` (an
 * optional peer dependency). Nothing here loads `pg` at run time either: you create the `Pool` and hand it in.
 *
 * ```ts
 * import pg from 'pg';
 * import { PostgresNodeStore, migrate } from 'leasehold/postgres';
 * ```
 *
 * @packageDocumentation
 */
export { migrate, migrationSql } from './nodes/postgres-migrate.js';
export { PostgresNodeStore } from './nodes/postgres-store.js';
export { POSTGRES_TABLE_DEFAULTS, type PostgresQueryable, type PostgresTableOptions } from './nodes/postgres-table.js';
