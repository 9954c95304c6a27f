/** A PostgreSQL schema of its own for one process test file, and the workflows those tests run. */
import { fileURLToPath } from "node:url";
import pg from "pg";
import { workflow, type RetryOptions } from "../../src/definition/builder.js";
import type { WorkflowSpec } from "../../src/definition/spec.js";

export const BASE_URL = process.env.WEFT_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
const EFFECTS = fileURLToPath(new URL("./fixtures/effects.mjs", import.meta.url));

export interface PgFixture {
  schema: string;
  /** The store URL of this schema. */
  url: string;
  client: pg.Client;
  drop(): Promise<void>;
}

export async function pgFixture(name: string): Promise<PgFixture> {
  const schema = `weft_${name}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const client = new pg.Client({ connectionString: BASE_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${BASE_URL} (${(error as Error).message}). Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
      { cause: error },
    );
  }
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.query(
    `CREATE TABLE ${schema}.side_effects (id bigserial PRIMARY KEY, execution_id text NOT NULL, task text NOT NULL, attempt int NOT NULL, pid int NOT NULL)`,
  );
  return {
    schema,
    url: `${BASE_URL}?schema=${schema}`,
    client,
    async drop() {
      // Backends of processes killed a moment ago may still hold locks on the schema's tables
      // until the server notices they are gone: a deadlock then is theirs, and passes.
      for (let attempt = 1; ; attempt++) {
        try {
          await client.query(`DROP SCHEMA ${schema} CASCADE`);
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== "40P01" || attempt >= 10) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      await client.end();
    },
  };
}

/**
 * A layered DAG of `n` tasks (seeded, so every run is the same graph), each recording its side
 * effect in the fixture's table and then working `sleepMs`. `retry` defaults to the DSL's
 * defaults (one attempt): a lost worker is an interruption, not a failed attempt.
 */
export function effectsDag(
  fixture: PgFixture,
  name: string,
  n: number,
  sleepMs = 0,
  retry: RetryOptions = {},
): WorkflowSpec {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  let flow = workflow(name, { defaults: { retry: { backoff: "50ms", ...retry } } });
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const after =
      names.length === 0 ? [] : [...new Set([0, 1].map(() => names[Math.floor(random() * names.length)]!))];
    const task = `t${i}`;
    flow = flow.task(task, {
      action: "js",
      after: after as never[],
      with: {
        module: EFFECTS,
        export: "record",
        args: { url: BASE_URL, table: `${fixture.schema}.side_effects`, sleepMs },
      },
    }) as typeof flow;
    names.push(task);
  }
  return flow.spec;
}
