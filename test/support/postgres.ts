// The PostgreSQL the tests use: LEASEHOLD_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres. When it
// is unreachable, tests that need it are skipped with a loud warning, unless LEASEHOLD_REQUIRE_POSTGRES=1 (CI sets
// it): then they fail. Tests only ever create and drop schemas of their own (leasehold_t_<hex>).
import pg from 'pg';

/** The PostgreSQL URL tests connect to. */
export const PG_URL = process.env.LEASEHOLD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Whether an unreachable PostgreSQL fails the tests instead of skipping them. */
export const PG_REQUIRED = process.env.LEASEHOLD_REQUIRE_POSTGRES === '1';

/** A URL with its password masked, for messages. */
export function redact(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return value;
  }
}

/** Why PostgreSQL at `url` can't be used, or null when it can. */
export async function probePostgres(url = PG_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? `${error.message || error.name}${'code' in error ? ` (${String(error.code)})` : ''}` : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Says loudly, on stderr, that `what` is skipped because PostgreSQL is unreachable, and how to run it. */
export function warnPostgresSkipped(what: string, reason: string): void {
  const bar = '!'.repeat(100);
  console.warn(
    `\n${bar}\n!! PostgreSQL is UNREACHABLE at ${redact(PG_URL)}: ${reason}\n` +
      `!! SKIPPING ${what}.\n` +
      '!! To run them: start PostgreSQL 15+ on 127.0.0.1:5432 with trust auth for user "postgres"\n' +
      '!!   (e.g. `apt-get install -y postgresql && service postgresql start`), or set LEASEHOLD_TEST_PG_URL to one you may\n' +
      '!!   create and drop schemas in. Set LEASEHOLD_REQUIRE_POSTGRES=1 to make this a failure instead (.ci/run does).\n' +
      `${bar}\n`,
  );
}
