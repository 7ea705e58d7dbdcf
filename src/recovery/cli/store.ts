import type { RedisClient } from '../../lock/redis/script-set.js';
import { RedisNodeStore } from '../../nodes/redis-store.js';
import type { NodeStore } from '../../nodes/store.js';
import type { StoreChoice } from './args.js';
import { UnreachableError, UsageError } from './exit-codes.js';
import { redactUrl } from './redact.js';

/** A node store the CLI opened, and how to close what it opened for it. */
export interface OpenedStore {
  readonly nodes: NodeStore;
  /** Where the nodes are, for messages (URLs redacted). */
  readonly where: string;
  close(): Promise<void>;
}

/** How long connecting to PostgreSQL may take before it is called unreachable, ms. */
const PG_CONNECT_TIMEOUT_MS = 5_000;

/**
 * Opens the node store `recover` writes failed states to: a `RedisNodeStore` on the CLI's Redis and prefix, or a
 * `PostgresNodeStore`, loading `pg` and `leasehold/postgres` only then (`pg` is an optional peer dependency).
 */
export async function openNodeStore(choice: StoreChoice, redis: RedisClient, prefix: string): Promise<OpenedStore> {
  if (choice.kind === 'redis') {
    return { nodes: new RedisNodeStore(redis, { prefix }), where: `Redis node store "{${prefix}}"`, close: () => Promise.resolve() };
  }
  const pg = await import('pg').then(
    (module) => module.default,
    (cause: unknown) => {
      const code = (cause as { code?: unknown } | null)?.code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw new UsageError('--store postgres needs the "pg" package, which is not installed here: npm install pg', { cause });
      }
      throw cause;
    },
  );
  const { PostgresNodeStore } = await import('../../postgres.js');
  const where = `PostgreSQL at ${redactUrl(choice.url)}`;
  const pool = new pg.Pool({ connectionString: choice.url, max: 2, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS });
  pool.on('error', () => undefined); // an idle client's failure; the next query reports it
  try {
    await pool.query('SELECT 1');
  } catch (cause) {
    await pool.end().catch(() => undefined);
    const message = cause instanceof Error ? cause.message || cause.name : String(cause);
    throw new UnreachableError(`${where} is unreachable: ${message}. Check --pg and that the server is up.`, { cause });
  }
  const nodes = new PostgresNodeStore(pool, {
    ...(choice.schema === null ? {} : { schema: choice.schema }),
    ...(choice.table === null ? {} : { table: choice.table }),
  });
  return { nodes, where: `${where}, table ${nodes.table}`, close: () => pool.end() };
}
