/**
 * What the PostgreSQL tests share: the server's URL (`WEFT_TEST_POSTGRES`), a check that fails
 * (never skips) with how to start it, and schemas of their own. Each test file works in schemas
 * named after the file, the process and a random tag, dropped when the file ends, so files
 * running at once (and runs interrupted half-way) never see each other's rows.
 *
 * @example
 * const pg = usePostgresSchemas("store");
 * const store = await PostgresStore.open(pg.url());
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeEach } from "vitest";

/** The server the tests use; default the local one, user postgres, database `test`. */
export const POSTGRES_URL = process.env.WEFT_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";

const HOW_TO_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";

/** Throws, with how to start the server, unless PostgreSQL answers at `url` within 5 s. */
export async function requirePostgres(url = POSTGRES_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${url} (${(error as Error).message}). Start it with:\n` +
        `  ${HOW_TO_START}\n` +
        "or point WEFT_TEST_POSTGRES at a server (postgres://user@host:port/db).",
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `url` with `params` set as query parameters (replacing any of the same name). */
export function withParams(url: string, params: Record<string, string | number>): string {
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(params)) parsed.searchParams.set(key, String(value));
  return parsed.toString();
}

/** The test schemas of one file and a connection to look at them directly. */
export interface TestSchemas {
  /** The file's main schema. */
  readonly schema: string;
  /** The server URL on the main schema (or on `schema`), plus any other parameters. */
  url(params?: Record<string, string | number>, schema?: string): string;
  /** A new schema name of this file (created by whoever opens a store on it; dropped at the end). */
  fresh(tag: string): string;
  /** Runs SQL on the file's own pool (search_path: the main schema). */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  /** Empties Weft's tables in the main schema (the conformance suite wants an empty store per test). */
  truncate(): Promise<void>;
  /** The plan of `query` in the main schema, sequential scans discouraged (tables here are tiny). */
  explain(query: string): Promise<string>;
}

/**
 * Registers the file's hooks: every test fails, saying how to start the server, when
 * PostgreSQL is unreachable (checked once per file); `afterAll` drops every schema the file
 * created.
 */
export function usePostgresSchemas(file: string): TestSchemas {
  const prefix = `weft_test_${file.replace(/[^a-z0-9]/gi, "_")}_${process.pid}_${randomBytes(3).toString("hex")}`;
  const schema = `${prefix}_main`;
  let pool: pg.Pool | undefined;
  const connect = () =>
    (pool ??= new pg.Pool({ connectionString: POSTGRES_URL, max: 2, options: `-c search_path=${schema}` }));

  let reachable: Promise<void> | undefined;
  beforeEach(() => (reachable ??= requirePostgres()), 10_000);
  afterAll(async () => {
    if (!(await reachable?.then(() => true).catch(() => false))) return;
    const db = connect();
    try {
      const { rows } = await db.query<{ nspname: string }>(
        "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)",
        [prefix],
      );
      for (const row of rows) await db.query(`DROP SCHEMA "${row.nspname}" CASCADE`);
    } finally {
      await db.end();
    }
  });

  let tags = 0;
  return {
    schema,
    url: (params = {}, on = schema) => withParams(POSTGRES_URL, { schema: on, ...params }),
    fresh: (tag) => `${prefix}_${tag}_${++tags}`,
    sql: async (text, values) => (await connect().query(text, values)).rows,
    truncate: async () => {
      await connect().query("TRUNCATE executions, task_runs, events, workflows RESTART IDENTITY CASCADE");
    },
    explain: async (query) => {
      const client = await connect().connect();
      try {
        await client.query("SET enable_seqscan = off");
        const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${query}`);
        await client.query("RESET enable_seqscan");
        return rows.map((row) => row["QUERY PLAN"]).join("\n");
      } finally {
        client.release();
      }
    },
  };
}
