/**
 * Weft on PostgreSQL with 1 and 4 `weft worker` processes, beside the machine's limit measured in
 * the same run: commits/s and p50 commit latency of a one-row UPDATE loop through `pg` on the same
 * server, with 1 and with 4 connections.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { WorkflowSpec } from "../src/definition/spec.js";
import { Engine } from "../src/engine/engine.js";
import { isTerminalExecution } from "../src/engine/states.js";
import { openStore } from "../src/runtime/open-store.js";
import { chain, fanOut } from "./workloads.js";

const BASE_URL = process.env.WEFT_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
const WEFT = fileURLToPath(new URL("../bin/weft.js", import.meta.url));

export interface CommitRate {
  connections: number;
  perSecond: number;
  p50Ms: number;
}

/** The reference: a one-row UPDATE per transaction, in a loop, on `connections` connections at once. */
export async function commitRate(connections: number, schema: string, ms = 3000): Promise<CommitRate> {
  const clients = await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const client = new pg.Client({ connectionString: BASE_URL });
      await client.connect();
      await client.query(`INSERT INTO ${schema}.counter VALUES (${i}, 0) ON CONFLICT DO NOTHING`);
      return client;
    }),
  );
  const latencies: number[] = [];
  const deadline = performance.now() + ms;
  await Promise.all(
    clients.map(async (client, i) => {
      while (performance.now() < deadline) {
        const started = performance.now();
        await client.query("BEGIN");
        await client.query(`UPDATE ${schema}.counter SET n = n + 1 WHERE id = $1`, [i]);
        await client.query("COMMIT");
        latencies.push(performance.now() - started);
      }
    }),
  );
  await Promise.all(clients.map((client) => client.end()));
  latencies.sort((a, b) => a - b);
  return {
    connections,
    perSecond: (latencies.length / ms) * 1000,
    p50Ms: latencies[Math.floor(latencies.length / 2)]!,
  };
}

function startWorkers(n: number, url: string): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn(process.execPath, [WEFT, "worker", "--store", url, "--concurrency", "64", "--quiet"], {
      stdio: "ignore",
    }),
  );
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.on("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  );
}

/** Starts one execution of `spec` and answers the ms until it ended (workers already running). */
async function timeExecution(engine: Engine, spec: WorkflowSpec): Promise<number> {
  await engine.registerWorkflow(spec);
  const started = performance.now();
  const { execution } = await engine.start(spec, {});
  for (;;) {
    const current = await engine.getExecution(execution.id);
    if (isTerminalExecution(current.status)) {
      if (current.status !== "succeeded") {
        throw new Error(`${spec.name} ended ${current.status}: ${current.error?.message ?? "no error"}`);
      }
      return performance.now() - started;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface PostgresFigures {
  reference: CommitRate[];
  runs: { workers: number; fanOutTasksPerSecond: number; chainStepMs: number }[];
}

export async function benchPostgres(): Promise<PostgresFigures> {
  const schema = `weft_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.counter (id int PRIMARY KEY, n bigint)`);
  try {
    const reference = [await commitRate(1, schema), await commitRate(4, schema)];
    const url = `${BASE_URL}?schema=${schema}`;
    const store = await openStore(url);
    const engine = new Engine(store);
    const runs: PostgresFigures["runs"] = [];
    for (const workers of [1, 4]) {
      const children = startWorkers(workers, url);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await timeExecution(engine, chain(20)); // warm-up
      const fan = fanOut(10_000);
      const fanMs = await timeExecution(engine, fan);
      const chainMs = await timeExecution(engine, chain(1_000));
      runs.push({ workers, fanOutTasksPerSecond: (10_002 / fanMs) * 1000, chainStepMs: chainMs / 1000 });
      await stopWorkers(children);
    }
    await store.close();
    return { reference, runs };
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

export function printPostgres(figures: PostgresFigures): void {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  for (const ref of figures.reference) {
    console.log(
      `reference: PostgreSQL one-row UPDATE commits, ${ref.connections} connection(s): ${fmt(ref.perSecond)} commits/s, p50 ${ref.p50Ms.toFixed(2)} ms`,
    );
  }
  const [one, four] = figures.reference;
  for (const run of figures.runs) {
    console.log(
      `postgres, ${run.workers} worker process(es): fan-out 10,000: ${fmt(run.fanOutTasksPerSecond)} tasks/s (${(run.fanOutTasksPerSecond / four!.perSecond).toFixed(2)}x the 4-connection commit rate); chain 1,000: ${run.chainStepMs.toFixed(2)} ms/step (${(run.chainStepMs / one!.p50Ms).toFixed(2)}x the 1-connection p50 commit)`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printPostgres(await benchPostgres());
}
