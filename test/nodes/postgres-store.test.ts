// PostgresNodeStore against a real PostgreSQL: the shared contract, the migration, the SQL-level constraints and the
// store's own checks. Everything happens in schemas this file creates (leasehold_t_<hex>) and drops at the end.
//
// PostgreSQL: LEASEHOLD_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres. When it is unreachable the
// tests are skipped with a loud warning, unless LEASEHOLD_REQUIRE_POSTGRES=1 (CI sets it): then they fail.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackendError,
  InvalidNameError,
  InvalidOptionError,
  NodeExistsError,
  PROVISION_STATES,
  StaleFenceError,
  UnknownOptionError,
  UnknownStateError,
  type Node,
} from 'leasehold';
import { POSTGRES_TABLE_DEFAULTS, PostgresNodeStore, migrate, migrationSql, type PostgresQueryable } from 'leasehold/postgres';
import { PG_REQUIRED, PG_URL, probePostgres, redact, warnPostgresSkipped } from '../support/postgres.js';
import { nodeStoreContract } from './store-contract.js';
import { closedPort } from '../support/ports.js';

const url = PG_URL;
const required = PG_REQUIRED;
const shownUrl = redact(url);

/** Why PostgreSQL can't be used (null: it can). */
const unreachable = await probePostgres(url);
const skip = unreachable !== null && !required;
if (skip) warnPostgresSkipped('every PostgresNodeStore test (contract, migration, constraints) in test/nodes/postgres-store.test.ts', unreachable);

const whyNot = (): Error =>
  new Error(
    `LEASEHOLD_REQUIRE_POSTGRES=1, but PostgreSQL is unreachable at ${shownUrl}: ${unreachable}. Start it, or point ` +
      'LEASEHOLD_TEST_PG_URL at one (these tests create and drop their own leasehold_t_* schemas only).',
  );

const schema = `leasehold_t_${randomBytes(4).toString('hex')}`;
/** Schemas this file created, and so may drop. */
const ours: string[] = [];
const pools: pg.Pool[] = [];
let main: pg.Pool;

function newPool(config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 5_000, ...config });
  pool.on('error', (error) => console.warn(`idle PostgreSQL client failed: ${error.message}`));
  pools.push(pool);
  return pool;
}

let tables = 0;
const freshTable = (): string => `nodes_${++tables}`;

/** A store over a fresh, migrated table of this file's schema. */
async function freshStore(pool: PostgresQueryable = main): Promise<{ store: PostgresNodeStore; table: string }> {
  const table = freshTable();
  await migrate(pool, { schema, table });
  return { store: new PostgresNodeStore(pool, { schema, table }), table };
}

/** A pool that also records the SQL it was sent: still the real database, so we can see what the store asks of it. */
function recording(pool: pg.Pool): { pool: PostgresQueryable; sent: string[] } {
  const sent: string[] = [];
  const query = ((text: string, values?: unknown[]) => {
    sent.push(text);
    return pool.query(text, values);
  }) as PostgresQueryable['query'];
  return { pool: { query }, sent };
}

async function sqlError(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the statement should have failed').not.toBeNull();
  return (error as { code?: string }).code;
}

const NODE_KEYS = ['driver', 'fence', 'id', 'lastError', 'maintenance', 'provisionState', 'targetState', 'updatedAt'];

describe('PostgreSQL for these tests', () => {
  it.skipIf(skip)(`is reachable at ${shownUrl}`, () => {
    if (unreachable !== null) throw whyNot();
  });
});

describe.skipIf(skip)('PostgresNodeStore', () => {
  beforeAll(async () => {
    if (unreachable !== null) throw whyNot();
    main = newPool();
    // No IF NOT EXISTS: if the name were somehow taken, fail rather than later drop what is not ours.
    await main.query(`CREATE SCHEMA "${schema}"`);
    ours.push(schema);
  });

  afterAll(async () => {
    try {
      for (const name of ours) await main.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  nodeStoreContract('PostgresNodeStore', async () => {
    const { store, table } = await freshStore();
    // Another Pool, hence other connections, on the same table.
    return { store, twin: () => Promise.resolve(new PostgresNodeStore(newPool(), { schema, table })) };
  });

  describe('migrate()', () => {
    it('creates the table, its constraints and index, and is idempotent', async () => {
      const table = freshTable();
      await migrate(main, { schema, table });
      const store = new PostgresNodeStore(main, { schema, table });
      const created = await store.create({ id: 'kept', provisionState: 'active' });
      await migrate(main, { schema, table });
      expect(await store.get('kept')).toEqual(created);

      const { rows: columns } = await main.query<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
        'SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
        [schema, table],
      );
      expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
        ['id', 'text', 'NO'],
        ['provision_state', 'text', 'NO'],
        ['target_state', 'text', 'YES'],
        ['maintenance', 'boolean', 'NO'],
        ['driver', 'text', 'NO'],
        ['last_error', 'text', 'YES'],
        ['fence', 'bigint', 'NO'],
        ['created_at', 'timestamp with time zone', 'NO'],
        ['updated_at', 'timestamp with time zone', 'NO'],
      ]);
      const { rows: indexes } = await main.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [schema, table]);
      expect(indexes.map((i) => i.indexdef).join('\n')).toMatch(/\(provision_state\)/);
      const { rows: checks } = await main.query<{ def: string }>(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'",
        [`"${schema}"."${table}"`],
      );
      const defs = checks.map((c) => c.def).join('\n');
      for (const state of PROVISION_STATES) expect(defs).toContain(`'${state}'`);
      expect(defs).toMatch(/fence >= 0/);
    });

    it('can run concurrently, even creating the schema', async () => {
      const fresh = `${schema}_c`;
      ours.push(fresh);
      await Promise.all(Array.from({ length: 6 }, () => migrate(newPool({ max: 1 }), { schema: fresh, table: 'nodes' })));
      const store = new PostgresNodeStore(main, { schema: fresh, table: 'nodes' });
      expect((await store.create({ id: 'n' })).fence).toBe(0);
    });

    it('without a schema, uses the search_path and the default table name', async () => {
      const scoped = newPool({ options: `-c search_path=${schema}` });
      await migrate(scoped);
      const store = new PostgresNodeStore(scoped);
      expect(store.table).toBe(`"${POSTGRES_TABLE_DEFAULTS.table}"`);
      await store.create({ id: 'on-search-path' });
      const { rows } = await main.query(`SELECT id FROM "${schema}"."${POSTGRES_TABLE_DEFAULTS.table}"`);
      expect(rows).toEqual([{ id: 'on-search-path' }]);
      expect(migrationSql()).not.toMatch(/CREATE SCHEMA/);
    });
  });

  describe('the table refuses what no store writes (SQL level)', () => {
    it('CHECKs provision_state, target_state and fence', async () => {
      const { table } = await freshStore();
      const insert = (state: string, target: string | null, fence: number): Promise<unknown> =>
        main.query(`INSERT INTO "${schema}"."${table}" (id, provision_state, target_state, fence) VALUES ($1, $2, $3, $4)`, [
          `raw-${randomBytes(4).toString('hex')}`,
          state,
          target,
          fence,
        ]);
      expect(await sqlError(insert('bogus', null, 0))).toBe('23514');
      expect(await sqlError(insert('Deploying', null, 0))).toBe('23514');
      expect(await sqlError(insert('available', 'nowhere', 0))).toBe('23514');
      expect(await sqlError(insert('available', null, -1))).toBe('23514');
      await insert('available', 'active', 0);
      expect(await sqlError(main.query(`UPDATE "${schema}"."${table}" SET provision_state = 'limbo'`))).toBe('23514');
    });
  });

  describe('its own checks and mapping', () => {
    it('validates its options', () => {
      const bad = (value: unknown): never => value as never;
      expect(() => new PostgresNodeStore(main, bad({ tabel: 'nodes' }))).toThrow(UnknownOptionError);
      expect(() => new PostgresNodeStore(main, bad('nodes'))).toThrow(InvalidOptionError);
      for (const table of ['', 'nodes; DROP TABLE x', '1nodes', 'nœuds', 'a"b', 'a'.repeat(41), 42]) {
        expect(() => new PostgresNodeStore(main, { table: bad(table) }), String(table)).toThrow(InvalidNameError);
      }
      for (const name of ['', 'pg_catalog', 'PG_x', 'a b', 'a'.repeat(64), null]) {
        expect(() => new PostgresNodeStore(main, { schema: bad(name) }), String(name)).toThrow(InvalidNameError);
      }
      for (const pool of [undefined, null, {}, 'postgres://x', { query: 1 }]) {
        expect(() => new PostgresNodeStore(bad(pool))).toThrow(InvalidOptionError);
      }
      expect(new PostgresNodeStore(main, { schema: 'Conductor', table: `t_${'a'.repeat(38)}` }).table).toBe(`"Conductor"."t_${'a'.repeat(38)}"`);
    });

    it('migrate() validates before it sends anything', async () => {
      const { pool, sent } = recording(main);
      await expect(migrate(pool, { schema, tabel: 'x' } as never)).rejects.toBeInstanceOf(UnknownOptionError);
      await expect(migrate(pool, { schema: 'pg_temp_x' })).rejects.toBeInstanceOf(InvalidNameError);
      await expect(migrate(pool, { table: 'x"; DROP SCHEMA public; --' })).rejects.toBeInstanceOf(InvalidNameError);
      await expect(migrate({} as never)).rejects.toBeInstanceOf(InvalidOptionError);
      expect(sent).toEqual([]);
    });

    it('sends nothing for bad input, one UPDATE per applied transition, and one read more only to explain a refusal', async () => {
      const { table } = await freshStore();
      const { pool, sent } = recording(main);
      const store = new PostgresNodeStore(pool, { schema, table });
      const bad = (value: unknown): never => value as never;
      await expect(store.get('a\u0000b')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(store.create({ id: 'a\u0000b' })).rejects.toBeInstanceOf(InvalidNameError);
      await expect(store.create({ id: 'n', driver: 'ipmi\u0000' })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(store.create({ id: 'n', lastError: '\u0000' })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(store.transition('n', { from: ['enroll'], to: 'verifying', fence: 1, lastError: 'x\u0000' })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(store.transition('n', { from: ['enroll'], to: bad('verify'), fence: 1 })).rejects.toBeInstanceOf(UnknownStateError);
      await expect(store.list(bad({ state: [] as string[], colour: 1 }))).rejects.toBeInstanceOf(UnknownOptionError);
      expect(sent).toEqual([]);

      await store.create({ id: 'n', provisionState: 'available' });
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/^INSERT /);
      sent.length = 0;
      await store.transition('n', { from: ['available'], to: 'deploying', fence: 5 });
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/^UPDATE .* WHERE id = \$1::text AND fence <= \$3::bigint AND provision_state = ANY\(\$4::text\[\]\) RETURNING /);
      sent.length = 0;
      await expect(store.transition('n', { from: ['deploying'], to: 'active', fence: 4 })).rejects.toBeInstanceOf(StaleFenceError);
      expect(sent.map((s) => s.split(' ')[0])).toEqual(['UPDATE', 'SELECT']);
      sent.length = 0;
      await expect(store.create({ id: 'n' })).rejects.toBeInstanceOf(NodeExistsError);
      expect(sent.map((s) => s.split(' ')[0])).toEqual(['INSERT']);
    });

    it('returns frozen nodes with exactly the Node fields, numbers for fence and updatedAt', async () => {
      const { store } = await freshStore();
      const before = Date.now();
      const nodes: Node[] = [
        await store.create({ id: 'shape', provisionState: 'available' }),
        await store.transition('shape', { from: ['available'], to: 'deploying', fence: 2 ** 52, targetState: 'active' }),
      ];
      nodes.push(await store.get('shape'), ...(await store.list()));
      for (const node of nodes) {
        expect(Object.isFrozen(node)).toBe(true);
        expect(Object.keys(node).sort()).toEqual(NODE_KEYS);
        expect(typeof node.fence).toBe('number');
        expect(Number.isSafeInteger(node.updatedAt)).toBe(true);
        expect(Math.abs(node.updatedAt - before)).toBeLessThan(60_000);
      }
      expect(nodes[3]).toEqual(nodes[1]);
    });

    it("decodes the same whatever type parsers the application's pool uses", async () => {
      const { table } = await freshStore();
      const parsers = new Map<number, (value: string) => unknown>([
        [20, (v) => BigInt(v)], // int8
        [16, (v) => `bool:${v}`], // bool
        [1184, (v) => `tz:${v}`], // timestamptz
        [1700, (v) => `numeric:${v}`], // numeric
      ]);
      const custom = newPool({
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
            parsers.get(oid) ?? (pg.types.getTypeParser(oid, format ?? 'text') as unknown)) as pg.CustomTypesConfig['getTypeParser'],
        },
      });
      const store = new PostgresNodeStore(custom, { schema, table });
      const node = await store.create({ id: 'parsed', maintenance: true });
      expect(node).toMatchObject({ fence: 0, maintenance: true });
      expect(typeof node.updatedAt).toBe('number');
      expect((await store.transition('parsed', { from: ['enroll'], to: 'verifying', fence: 9 })).fence).toBe(9);
    });

    it('lists ids in code point order, as JavaScript sorts them, whatever the column collation', async () => {
      const ids = ['b', 'B', 'a', 'é', 'Z', '_', 'a-1', 'a1', 'A', 'ä'];
      const migrated = await freshStore();
      // A table made by other means, its id column in a locale collation (ICU's root locale sorts _ a A b B ...).
      const localized = await freshStore();
      const { rows } = await main.query("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'");
      if (rows.length > 0) await main.query(`ALTER TABLE "${schema}"."${localized.table}" ALTER COLUMN id TYPE text COLLATE "und-x-icu"`);
      for (const { store } of [migrated, localized]) {
        for (const id of ids) await store.create({ id });
        expect((await store.list()).map((n) => n.id)).toEqual([...ids].sort());
      }
    });

    it('wraps database failures in BackendError with the pg error as cause', async () => {
      const missing = new PostgresNodeStore(main, { schema, table: 'never_migrated' });
      const error = await missing.get('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendError);
      expect((error as BackendError).cause).toMatchObject({ code: '42P01' });
      expect((error as BackendError).message).toMatch(/run migrate\(pool/);

      const port = await closedPort();
      const downPool = newPool({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      const refused = await new PostgresNodeStore(downPool, { schema }).list().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(BackendError);
      expect((refused as BackendError).cause).toMatchObject({ code: 'ECONNREFUSED' });
      const failed = await migrate(downPool, { schema }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(BackendError);
      expect((failed as BackendError).cause).toMatchObject({ code: 'ECONNREFUSED' });
    });
  });
});

