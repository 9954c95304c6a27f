/**
 * The sync point under real contention, at every isolation level: two engines, each on its own
 * PostgresStore (its own pool, as two processes would have), complete the two predecessors of
 * one join at the same moment, for 1,000 joins. Each join must become ready exactly once: under
 * READ COMMITTED because the decrement locks the join's row and re-reads it, under REPEATABLE
 * READ and SERIALIZABLE because the loser fails with 40001 and runs again.
 *
 * Efficient by construction: one execution is started through the engine and copied 999 times
 * in one transaction, all predecessors are claimed at once, then the joins are raced in groups
 * of 50 (100 transactions in flight across the two pools).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import type { TaskRunRecord } from "../../src/engine/store.js";
import { PostgresStore } from "../../src/stores/postgres/postgres-store.js";
import { engineOn, FakeClock, fanIn, ref } from "../conformance/fixtures.js";
import { usePostgresSchemas } from "../helpers/postgres.js";

const pg = usePostgresSchemas("races");

const JOINS = 1000;
/** Joins raced at once. */
const GROUP = 50;

/** Runs `fn` over `items` in consecutive groups of `size`, each group all at once. */
async function inGroups<T, R>(
  items: readonly T[],
  size: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(
      ...(await Promise.all(items.slice(start, start + size).map((item, j) => fn(item, start + j)))),
    );
  }
  return results;
}

/** `count` executions of fanIn(2): one started by `engine`, the others copies of its rows. */
async function startJoins(engine: Engine, count: number): Promise<string[]> {
  const { execution } = await engine.start(fanIn(2), {});
  const runs = await engine.store.listRuns(execution.id);
  // Random ids, as the engine makes: sequential ones would crowd one index page, which under
  // SERIALIZABLE (page-level predicate locks) makes unrelated executions conflict.
  const copies = Array.from({ length: count - 1 }, () => randomUUID());
  await engine.store.transaction(async (tx) => {
    for (const id of copies) await tx.insertExecution({ ...execution, id });
    await tx.insertRuns(copies.flatMap((id) => runs.map((run) => ({ ...run, executionId: id }))));
  });
  return [execution.id, ...copies];
}

describe.each(["read_committed", "repeatable_read", "serializable"] as const)(
  "two engines racing for %s joins",
  (isolation) => {
    it(`make each of ${JOINS} joins ready exactly once (${isolation})`, async () => {
      const schema = pg.fresh(isolation);
      const url = pg.url({ isolation, pool: 10 }, schema);
      const retries = { one: 0, two: 0 };
      const one = await PostgresStore.open(url, { onRetry: () => (retries.one += 1) });
      const two = await PostgresStore.open(url, { onRetry: () => (retries.two += 1) });
      try {
        const clock = new FakeClock();
        const engines = [engineOn(one, clock), engineOn(two, clock)] as const;

        const ids = await startJoins(engines[0], JOINS);
        const claimed = await engines[0].claim({ owner: "w", limit: 2 * JOINS });
        expect(claimed).toHaveLength(2 * JOINS);
        const preds = new Map<string, TaskRunRecord[]>();
        for (const run of claimed) preds.set(run.executionId, [...(preds.get(run.executionId) ?? []), run]);

        // Both completions of one join start in the same tick, on different pools; which engine
        // completes which predecessor alternates from join to join.
        const readies = await inGroups(ids, GROUP, async (id, i) => {
          const [p0, p1] = preds.get(id)!;
          const steps = await Promise.all([
            engines[i % 2]!.complete(ref(p0!), "left"),
            engines[(i + 1) % 2]!.complete(ref(p1!), "right"),
          ]);
          expect(steps.map((step) => step.applied)).toEqual([1, 1]);
          return steps.flatMap((step) => step.ready).filter((run) => run.task === "join").length;
        });

        expect(readies.filter((count) => count !== 1)).toEqual([]);
        const [events] = await pg.sql<{ count: string }>(
          `SELECT count(*) FROM "${schema}".events WHERE type = 'task:ready' AND payload->>'task' = 'join'`,
        );
        expect(Number(events!.count)).toBe(JOINS);
        const joins = await pg.sql<{ status: string; pending: number; count: string }>(
          `SELECT status, pending, count(*) FROM "${schema}".task_runs WHERE task = 'join' GROUP BY status, pending`,
        );
        expect(joins.map((row) => ({ ...row, count: Number(row.count) }))).toEqual([
          { status: "ready", pending: 0, count: JOINS },
        ]);
        // READ COMMITTED needs no re-run: the row lock serialises the two decrements. The other
        // levels abort one of two colliding transactions, which then runs again.
        if (isolation === "read_committed") expect(retries).toEqual({ one: 0, two: 0 });
        else expect(retries.one + retries.two).toBeGreaterThan(0);
        console.info(`${isolation}: ${retries.one + retries.two} transactions ran again after a conflict`);
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    });
  },
);
