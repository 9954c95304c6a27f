/**
 * What living executions need of a store: seqs allocated atomically (two transactions never
 * get the same), traversal rows kept with their definition and input, and versions found by
 * their key while they are live.
 */
import { describe, expect, it } from "vitest";
import { TraversalConflictError, type Engine } from "../../src/engine/engine.js";
import type { TaskRunRecord, TraversalRecord } from "../../src/engine/store.js";
import { versionKey } from "../../src/engine/version-key.js";
import { drive, eventsOf, failure, LEASE_MS, ref, workflowSpec, type Decision } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

export function traversalCases(ctx: SuiteContext): void {
  describe("traversal records", () => {
    it("allocates fresh seqs after the layout, never the same twice, even from concurrent transactions", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(workflowSpec("seqs", { a: {}, b: { after: ["a"] } }), {});
      // Two tasks: seqs 0-1, the end 2, the undos 3-4 and their end 5.
      expect((await ctx.store.getExecution(execution.id))?.nextSeq).toBe(6);
      const first = await ctx.store.transaction(async (tx) => tx.allocateSeqs(execution.id, 3));
      expect(first).toBe(6);
      const stores = ctx.reopen ? [ctx.store, await ctx.reopen(ctx.store)] : [ctx.store];
      if (stores[1]) ctx.closeLater(stores[1]);
      const firsts = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          stores[i % stores.length]!.transaction(async (tx) => tx.allocateSeqs(execution.id, 2)),
        ),
      );
      expect([...firsts].sort((a, b) => a - b)).toEqual([9, 11, 13, 15, 17, 19, 21, 23]);
      expect((await ctx.store.getExecution(execution.id))?.nextSeq).toBe(25);
    });

    it("keeps traversals with their definition and input, in order, and patches their status", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("kept", { a: {} });
      const { execution } = await engine.start(spec, {});
      expect(await ctx.store.listTraversals(execution.id)).toEqual([]);
      const second: TraversalRecord = {
        executionId: execution.id,
        id: "t2",
        number: 2,
        cause: "update",
        spec: workflowSpec("kept", { a: {}, b: {} }),
        input: { n: 2 },
        base: 6,
        status: "running",
        rollbackOnFailure: true,
        createdAt: ctx.clock.t,
        finishedAt: null,
      };
      const first: TraversalRecord = {
        ...second,
        id: execution.traversal,
        number: 1,
        cause: "start",
        spec,
        input: { n: 1 },
        base: 0,
        rollbackOnFailure: false,
      };
      await ctx.store.transaction(async (tx) => {
        await tx.insertTraversal(second);
        await tx.insertTraversal(first);
        await tx.updateTraversal(execution.id, execution.traversal, { status: "superseded", finishedAt: 7 });
      });
      const listed = await ctx.store.listTraversals(execution.id);
      expect(listed).toEqual([{ ...first, status: "superseded", finishedAt: 7 }, second]);
      expect(await ctx.store.transaction(async (tx) => tx.listTraversals(execution.id))).toEqual(listed);
    });

    it("finds a live version by its key: a succeeded body, not a reuse, not undone", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(workflowSpec("versions", { a: {} }), {});
      const [a] = await engine.claim({ owner: "w", limit: 1 });
      await engine.complete(ref(a!), { made: 1 });
      expect(await ctx.store.findVersion(execution.id, "a", "k1")).toBeUndefined();
      const guard = {
        executionId: execution.id,
        seq: 0,
        status: ["succeeded" as const],
        traversal: a!.traversal,
      };
      await ctx.store.transaction(async (tx) => tx.updateRun(guard, { versionKey: "k1" }));
      expect((await ctx.store.findVersion(execution.id, "a", "k1"))?.output).toEqual({ made: 1 });
      expect(await ctx.store.findVersion(execution.id, "b", "k1")).toBeUndefined();
      await ctx.store.transaction(async (tx) => tx.updateRun(guard, { reusedFrom: 3 }));
      expect(await ctx.store.findVersion(execution.id, "a", "k1")).toBeUndefined();
      await ctx.store.transaction(async (tx) => tx.updateRun(guard, { reusedFrom: null, undoneAt: 5 }));
      expect(await ctx.store.findVersion(execution.id, "a", "k1")).toBeUndefined();
      const run = (await ctx.store.getRuns(execution.id, [0]))[0]!;
      expect([run.versionKey, run.reusedFrom, run.undoneAt, run.target]).toEqual(["k1", null, 5, null]);
    });
  });
}

/** The run of `task` in traversal `traversal`. */
function runIn(
  runs: readonly TaskRunRecord[],
  task: string,
  traversal: string,
  kind = "task",
): TaskRunRecord {
  const run = runs.find((r) => r.task === task && r.traversal === traversal && r.kind === kind);
  if (!run) throw new Error(`no ${kind} run of "${task}" in traversal ${traversal}`);
  return run;
}

/** a -> b, each with an undo; `v` changes b's definition. */
const living = (v: number, extra: Record<string, object> = {}) =>
  workflowSpec("living", {
    a: { undo: { action: "noop", with: {} }, retry: { attempts: 3 }, ...extra.a },
    b: { after: ["a"], with: { v }, undo: { action: "noop", with: {} }, ...extra.b },
  });

/** Decides like a worker: keys each version as a worker does and reuses what it finds. */
function keyed(store: SuiteContext["store"]) {
  return async (run: TaskRunRecord): Promise<Decision> => {
    if (run.kind !== "task") return { status: "succeeded", output: null };
    const execution = (await store.getExecution(run.executionId))!;
    const spec = run.traversal === execution.traversal ? execution.spec : null;
    // The worker's own key, over `with` as written (these tasks' expressions read nothing).
    const task = spec?.tasks[run.task];
    const key = task ? versionKey(task, task.with) : `${run.task}:stale`;
    const version = execution.base > 0 ? await store.findVersion(run.executionId, run.task, key) : undefined;
    if (version)
      return { status: "succeeded", output: version.output, versionKey: key, reusedFrom: version.seq };
    return { status: "succeeded", output: { task: run.task, at: run.seq }, versionKey: key };
  };
}

type ExitPath = (engine: Engine, ctx: SuiteContext, run: TaskRunRecord) => Promise<void>;

/** Every way an attempt of an old traversal can end; each must release its task in the new one. */
const EXIT_PATHS: Record<string, ExitPath> = {
  succeeds: async (engine, _ctx, run) => void (await engine.complete(ref(run), { late: true })),
  fails: async (engine, _ctx, run) => void (await engine.fail(ref(run), failure("boom", true))),
  "times out": async (engine, _ctx, run) =>
    void (await engine.fail(ref(run), { type: "TimeoutError", message: "timed out", retryable: true })),
  "loses its lease": async (engine, ctx, run) => {
    ctx.clock.advance(LEASE_MS + 1);
    expect((await engine.reap()).reaped).toBe(1);
    void run;
  },
  "is given up by its stopping worker": async (engine, _ctx, run) =>
    void (await engine.settle([{ run: ref(run), status: "interrupted", error: failure("stopping", true) }])),
  "dies with its process (resume reclaims it)": async (engine, _ctx, run) =>
    void expect(await engine.abandon(run.executionId, () => true)).toBe(1),
};

export function traversalEngineCases(ctx: SuiteContext): void {
  describe("traversals", () => {
    for (const [path, exit] of Object.entries(EXIT_PATHS)) {
      it(`an update lands while a task runs, then that attempt ${path}: the new traversal completes`, async () => {
        const engine = ctx.engine();
        const { execution } = await engine.start(living(1), {});
        const [a1] = await engine.claim({ owner: "w1", limit: 1 });
        const { execution: updated } = await engine.update(execution.id, living(2));
        const t2 = updated.traversal;
        let runs = await ctx.store.listRuns(execution.id);
        // b of the old traversal is cancelled; a still runs there, and a of the new one waits for it.
        expect(runIn(runs, "b", execution.traversal).status).toBe("cancelled");
        expect(runIn(runs, "a", execution.traversal)).toMatchObject({ status: "running", supersededBy: t2 });
        expect(runIn(runs, "a", t2)).toMatchObject({ status: "blocked", pending: 1 });
        expect(await engine.claim({ owner: "w2", limit: 10 })).toEqual([]);

        await exit(engine, ctx, a1!);
        runs = await ctx.store.listRuns(execution.id);
        // Ended for good where it was (no retry in a replaced traversal), and released in the new one.
        expect(["succeeded", "failed"]).toContain(runIn(runs, "a", execution.traversal).status);
        expect(runIn(runs, "a", t2).status).toBe("ready");
        await drive(engine, execution.id);
        expect(await ctx.store.getExecution(execution.id)).toMatchObject({
          status: "succeeded",
          failures: 0,
        });
        const traversals = await ctx.store.listTraversals(execution.id);
        expect(traversals.map((t) => [t.number, t.cause, t.status])).toEqual([
          [1, "start", "superseded"],
          [2, "update", "succeeded"],
        ]);
      });
    }

    it("a callback for a delegate of a replaced traversal changes nothing and says it was superseded", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("approval", { ask: { action: "delegate" } });
      const { execution } = await engine.start(spec, {});
      const [claimed] = await engine.claim({ owner: "w", limit: 1 });
      const waiting = await engine.wait(ref(claimed!));
      const { execution: updated } = await engine.update(execution.id, spec);
      const answer = await engine.completeByToken(waiting!.token, { approved: true });
      expect(answer.status).toBe("superseded");
      const runs = await ctx.store.listRuns(execution.id);
      expect(runIn(runs, "ask", execution.traversal).status).toBe("cancelled");
      expect(runIn(runs, "ask", updated.traversal).status).toBe("ready");
    });

    it("reuses what matches, cleans up what it replaced after it succeeded, each undo with its own version", async () => {
      const engine = ctx.engine();
      const decide = keyed(ctx.store);
      const { execution } = await engine.start(living(1), {});
      await drive(engine, execution.id, decide);
      const t1 = await ctx.store.listRuns(execution.id);
      const { execution: updated } = await engine.update(execution.id, living(2));
      await drive(engine, execution.id, decide);
      const runs = await ctx.store.listRuns(execution.id);
      // a was reused, b ran again; the replaced b's undo ran (targeting it), then the execution ended.
      expect(runIn(runs, "a", updated.traversal).reusedFrom).toBe(runIn(t1, "a", execution.traversal).seq);
      expect(runIn(runs, "b", updated.traversal).reusedFrom).toBeNull();
      const cleanup = runs.filter((run) => run.kind === "undo" && run.traversal === updated.traversal);
      expect(cleanup.map((run) => [run.task, run.target, run.status])).toEqual([
        ["b", runIn(t1, "b", execution.traversal).seq, "succeeded"],
      ]);
      expect(runIn(runs, "b", execution.traversal).undoneAt).not.toBeNull();
      expect(runIn(runs, "a", execution.traversal).undoneAt).toBeNull();
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
      const events = await ctx.store.listEvents(execution.id);
      expect(eventsOf(events, "traversal:started")).toHaveLength(1);
      expect(eventsOf(events, "task:reused", "a")).toHaveLength(1);
    });

    it("inverted dependencies: both tasks run again, and the old ones are undone in the old graph's order", async () => {
      const engine = ctx.engine();
      const decide = keyed(ctx.store);
      const { execution } = await engine.start(living(1), {});
      await drive(engine, execution.id, decide);
      const inverted = workflowSpec("living", {
        b: { with: { v: 1 }, undo: { action: "noop", with: {} } },
        a: { after: ["b"], undo: { action: "noop", with: {} }, retry: { attempts: 3 } },
      });
      const { execution: updated } = await engine.update(execution.id, inverted);
      const order = await drive(engine, execution.id, decide);
      expect(order.filter((run) => run.kind === "task").map((run) => run.task)).toEqual(["b", "a"]);
      const runs = await ctx.store.listRuns(execution.id);
      expect(runIn(runs, "a", updated.traversal).reusedFrom).toBeNull();
      expect(runIn(runs, "b", updated.traversal).reusedFrom).toBeNull();
      // In the start's graph b depended on a: b's undo first.
      expect(order.filter((run) => run.kind === "undo").map((run) => run.task)).toEqual(["b", "a"]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("undo runs every live version's undo in reverse dependency order and ends undone", async () => {
      const engine = ctx.engine();
      const decide = keyed(ctx.store);
      const { execution } = await engine.start(living(1), {});
      await drive(engine, execution.id, decide);
      await engine.update(execution.id, living(2));
      await drive(engine, execution.id, decide);
      const { execution: undone } = await engine.undo(execution.id);
      const order = await drive(engine, execution.id, decide);
      // Live: a (from the start) and b (from the update); b depended on a, so its undo goes first.
      expect(order.filter((run) => run.kind === "undo").map((run) => run.task)).toEqual(["b", "a"]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "undone" });
      const live = (await ctx.store.listRuns(execution.id)).filter(
        (run) =>
          run.kind === "task" &&
          run.status === "succeeded" &&
          run.reusedFrom === null &&
          run.undoneAt === null,
      );
      expect(live).toEqual([]);
      expect((await ctx.store.listTraversals(execution.id)).at(-1)).toMatchObject({
        id: undone.traversal,
        cause: "undo",
        status: "undone",
      });
    });

    it("a failed update keeps every version live; rollback reuses them and cleans up what the update made", async () => {
      const engine = ctx.engine();
      const decide = keyed(ctx.store);
      const { execution } = await engine.start(living(1), {});
      await drive(engine, execution.id, decide);
      // The update changes b, and b fails.
      await engine.update(execution.id, living(2, { a: { with: { changed: true } } }));
      await drive(engine, execution.id, async (run): Promise<Decision> =>
        run.task === "b" ? { status: "failed", error: failure("no") } : decide(run),
      );
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "failed" });
      const { execution: back } = await engine.rollback(execution.id);
      const order = await drive(engine, execution.id, decide);
      const runs = await ctx.store.listRuns(execution.id);
      // Back on the start's definition: a and b reuse the start's versions; the update's a is undone.
      expect(runIn(runs, "a", back.traversal).reusedFrom).toBe(runIn(runs, "a", execution.traversal).seq);
      expect(runIn(runs, "b", back.traversal).reusedFrom).toBe(runIn(runs, "b", execution.traversal).seq);
      expect(order.filter((run) => run.kind === "undo").map((run) => run.task)).toEqual(["a"]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        status: "succeeded",
        spec: living(1),
      });
    });

    it("a rollback in the middle of an update waits for the update's running body, then goes back", async () => {
      const engine = ctx.engine();
      const decide = keyed(ctx.store);
      const { execution } = await engine.start(living(1), {});
      await drive(engine, execution.id, decide);
      const changedA = { a: { with: { changed: true } } };
      const { execution: update } = await engine.update(execution.id, living(2, changedA));
      const [a2] = await engine.claim({ owner: "w", limit: 1 });
      expect(a2).toMatchObject({ task: "a", traversal: update.traversal });
      const { execution: back } = await engine.rollback(execution.id);
      expect(back.spec).toEqual(living(1));
      // The update's a still runs; it ends, and is recorded as a version of its own.
      await engine.complete(ref(a2!), { made: "a2" });
      const order = await drive(engine, execution.id, decide);
      const runs = await ctx.store.listRuns(execution.id);
      expect(runIn(runs, "a", back.traversal).reusedFrom).toBe(runIn(runs, "a", execution.traversal).seq);
      // What the update made (its a) is undone; the start's versions are what the execution uses again.
      expect(order.filter((run) => run.kind === "undo").map((run) => [run.task, run.target])).toEqual([
        ["a", a2!.seq],
      ]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
      expect((await ctx.store.listTraversals(execution.id)).map((row) => [row.cause, row.status])).toEqual([
        ["start", "succeeded"],
        ["update", "superseded"],
        ["rollback", "succeeded"],
      ]);
    });

    it("of two concurrent updates exactly one wins; the other changes nothing", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(living(1), {});
      const other = ctx.reopen ? ctx.engine({}, await ctx.reopen(ctx.store)) : engine;
      if (other !== engine) ctx.closeLater(other.store);
      const results = await Promise.allSettled([
        engine.update(execution.id, living(2), { expectTraversal: execution.traversal }),
        other.update(execution.id, living(3), { expectTraversal: execution.traversal }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(TraversalConflictError);
      expect(await ctx.store.listTraversals(execution.id)).toHaveLength(2);
    });
  });
}
