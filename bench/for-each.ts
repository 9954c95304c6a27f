/**
 * forEach's cost per instance, beside the static fan-out of the same size measured in the same run
 * (`fanOut(n)`: n tasks written in the spec). Instances are runs like tasks, so the two should
 * cost about the same per run, and the cost per instance should stay flat as n grows (O(1) each).
 */
import pg from "pg";
import type { WorkflowSpec } from "../src/definition/spec.js";

/** Runs a spec on a fresh store and answers the best time of `runs` (see run.ts). */
export type RunOn = (spec: WorkflowSpec, runs?: number) => Promise<{ ms: number }>;

export interface ForEachFigure {
  store: string;
  items: number;
  maxParallel: number | undefined;
  /** µs per instance of the forEach, and per task of the static fan-out of the same size. */
  perInstanceUs: number;
  perStaticTaskUs: number;
}

export async function benchForEach(
  stores: [string, RunOn][],
  forEach: (n: number, maxParallel?: number) => WorkflowSpec,
  fanOut: (n: number) => WorkflowSpec,
): Promise<ForEachFigure[]> {
  const figures: ForEachFigure[] = [];
  for (const [store, runOn] of stores) {
    for (const [items, maxParallel] of [
      [1_000, undefined],
      [10_000, undefined],
      [10_000, 64],
    ] as const) {
      const dynamic = await runOn(forEach(items, maxParallel));
      const fixed = await runOn(fanOut(items));
      figures.push({
        store,
        items,
        maxParallel,
        perInstanceUs: (dynamic.ms * 1000) / items,
        perStaticTaskUs: (fixed.ms * 1000) / (items + 2),
      });
    }
  }
  return figures;
}

export function formatForEachBench(figures: readonly ForEachFigure[]): string {
  const lines = ["forEach (instances created at run time) beside the same fan-out written as tasks:"];
  for (const f of figures) {
    const limit = f.maxParallel === undefined ? "" : `, maxParallel ${f.maxParallel}`;
    lines.push(
      `  ${f.store} ${f.items.toLocaleString("en-US")} items${limit}: ${f.perInstanceUs.toFixed(1)} µs/instance (reference: static fan-out ${f.perStaticTaskUs.toFixed(1)} µs/task)`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The same figures on PostgreSQL, in a schema of their own dropped afterwards. */
export async function benchForEachOnPostgres(
  runOnUrl: (url: () => string, spec: WorkflowSpec, runs?: number) => Promise<{ ms: number }>,
  forEach: (n: number, maxParallel?: number) => WorkflowSpec,
  fanOut: (n: number) => WorkflowSpec,
): Promise<ForEachFigure[]> {
  const base = process.env.WEFT_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
  const schema = `weft_bench_for_each_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const url = () => `${base}?schema=${schema}`;
    return await benchForEach([["postgres", (spec, runs) => runOnUrl(url, spec, runs)]], forEach, fanOut);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}
