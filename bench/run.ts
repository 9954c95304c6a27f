/**
 * `npm run bench`: Weft's throughput and per-task overhead on no-op workflows, each figure printed
 * beside a reference measured in the same run on the same machine. A script, not a test: timings
 * vary from machine to machine; the ratios are what to compare.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { WorkflowSpec } from "../src/definition/spec.js";
import type { Store } from "../src/engine/store.js";
import { createRuntime } from "../src/runtime/runtime.js";
import { openStore } from "../src/runtime/open-store.js";
import { benchGraphReduce } from "./graph-reduce.js";
import { benchHttp, printHttpBench } from "./http.js";
import { benchPostgres, printPostgres } from "./postgres.js";
import { benchBuilder, formatBuilderBench } from "./builder.js";
import { benchValidate, formatValidateBench } from "./validate.js";
import { benchForEach, benchForEachOnPostgres, formatForEachBench } from "./for-each.js";
import { chain, fanOut, forEachFanOut, layered, plainExecutor } from "./workloads.js";

const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
let files = 0;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

function count(spec: WorkflowSpec): number {
  return Object.keys(spec.tasks).length;
}

/** The best of `runs` executions of `spec`, each on a fresh store (the first also warms the JIT up). */
async function runOn(storeUrl: () => string, spec: WorkflowSpec, runs = 2): Promise<{ ms: number }> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const store: Store = await openStore(storeUrl());
    const runtime = await createRuntime({ store, concurrency: 64 });
    let status = "";
    const ms = await timed(async () => {
      status = (await runtime.run(spec)).status;
    });
    await store.close();
    if (status !== "succeeded") throw new Error(`${spec.name} ended ${status}`);
    best = Math.min(best, ms);
  }
  return { ms: best };
}

const memoryUrl = () => "memory:";

function sqliteUrl(): string {
  files += 1;
  return `sqlite:${join(dir, `bench-${files}.db`)}`;
}

/** The commits/s of a one-row UPDATE loop on a SQLite file with Weft's settings (WAL, synchronous=NORMAL). */
function sqliteCommitRate(): { perSecond: number } {
  const db = new Database(join(dir, "commit-rate.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0);");
  const update = db.prepare("UPDATE counter SET n = n + 1 WHERE id = 1");
  const n = 20_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    db.exec("BEGIN IMMEDIATE");
    update.run();
    db.exec("COMMIT");
  }
  const ms = performance.now() - started;
  db.close();
  return { perSecond: (n / ms) * 1000 };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const us = (ms: number, tasks: number) => `${((ms * 1000) / tasks).toFixed(1)} µs/task`;

async function main(): Promise<void> {
  console.log(`weft bench: node ${process.version}, ${process.platform}/${process.arch}\n`);
  const graph = await benchGraphReduce();
  console.log(
    `graph: transitive reduction of ${graph.nodes} nodes / ${graph.edges} edges: ${graph.ms.toFixed(0)} ms (reference: topological order ${graph.referenceMs.toFixed(1)} ms)\n`,
  );

  console.log(formatValidateBench(await benchValidate()));
  console.log(formatBuilderBench(await benchBuilder()));

  const fan = fanOut(10_000);
  await plainExecutor(fan); // warm-up
  const plainMs = await timed(() => plainExecutor(fan));
  const plainRate = (count(fan) / plainMs) * 1000;
  const commit = sqliteCommitRate();
  console.log(`reference: plain topological executor, no store, fan-out 10,000: ${fmt(plainRate)} tasks/s`);
  console.log(
    `reference: SQLite one-row UPDATE commits (WAL, synchronous=NORMAL): ${fmt(commit.perSecond)} commits/s\n`,
  );

  const workloads: [string, WorkflowSpec][] = [
    ["chain 1,000", chain(1_000)],
    ["fan-out/fan-in 10,000", fan],
    ["random layered DAG 10,000", layered(10_000)],
  ];
  await runOn(memoryUrl, chain(200)); // warm-up
  for (const [label, spec] of workloads) {
    const memory = await runOn(memoryUrl, spec);
    const sqlite = await runOn(sqliteUrl, spec);
    const tasks = count(spec);
    const memRate = (tasks / memory.ms) * 1000;
    const sqlRate = (tasks / sqlite.ms) * 1000;
    console.log(`${label}:`);
    console.log(
      `  memory: ${fmt(memRate)} tasks/s, ${us(memory.ms, tasks)} (${((memRate / plainRate) * 100).toFixed(0)}% of the plain executor)`,
    );
    console.log(
      `  sqlite: ${fmt(sqlRate)} tasks/s, ${us(sqlite.ms, tasks)} (${((sqlRate / commit.perSecond) * 100).toFixed(0)}% of the commit rate)`,
    );
  }

  console.log(
    `\n${formatForEachBench(
      await benchForEach(
        [
          ["memory", (spec, runs) => runOn(memoryUrl, spec, runs)],
          ["sqlite", (spec, runs) => runOn(sqliteUrl, spec, runs)],
        ],
        forEachFanOut,
        fanOut,
      ),
    )}`,
  );

  console.log("per-task overhead by execution size (fan-out/fan-in):");
  for (const n of [1_000, 10_000, 100_000]) {
    const spec = fanOut(n);
    const before = process.memoryUsage().rss;
    const runs = n >= 100_000 ? 1 : 2;
    const memory = await runOn(memoryUrl, spec, runs);
    const rss = process.memoryUsage().rss;
    const sqlite = await runOn(sqliteUrl, spec, runs);
    console.log(
      `  ${fmt(n)} tasks: memory ${us(memory.ms, count(spec))}, sqlite ${us(sqlite.ms, count(spec))}; rss ${fmt(rss / 2 ** 20)} MB (was ${fmt(before / 2 ** 20)} MB)`,
    );
  }
}

try {
  await main();
  // WEFT_BENCH_ONLY=embedded skips the PostgreSQL and HTTP parts (they need the services).
  if (process.env.WEFT_BENCH_ONLY !== "embedded") {
    console.log("\nPostgreSQL (weft worker processes):");
    printPostgres(await benchPostgres());
    console.log(`\n${formatForEachBench(await benchForEachOnPostgres(runOn, forEachFanOut, fanOut))}`);
    console.log("HTTP API on loopback:");
    printHttpBench(await benchHttp());
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
