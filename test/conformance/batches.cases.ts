/**
 * Batches: a worker's batch of reports is read, applied and propagated with a few store calls
 * (getRunsByKey, updateRuns, one decrementSyncPoints per wave), each answering per run exactly
 * what the single-run calls would.
 */
import { describe, expect, it } from "vitest";
import { EventType, type RunChange } from "../../src/engine/store.js";
import { diamond, eventsOf, failure, fanIn, ref, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

export function batchCases(ctx: SuiteContext): void {
  describe("batches", () => {
    it("getRunsByKey answers the runs of any executions in the order asked, undefined where none is", async () => {
      const engine = ctx.engine();
      const one = (await engine.start(diamond(), {})).execution.id;
      const two = (await engine.start(fanIn(2), {})).execution.id;
      const [runsOne, runsTwo] = [await ctx.store.listRuns(one), await ctx.store.listRuns(two)];
      const keys = [
        { executionId: two, seq: runOf(runsTwo, "join").seq },
        { executionId: one, seq: runOf(runsOne, "d").seq },
        { executionId: one, seq: 99 },
        { executionId: "missing", seq: 0 },
        { executionId: one, seq: runOf(runsOne, "a").seq },
      ];
      const found = await ctx.store.transaction(async (tx) => tx.getRunsByKey(keys));
      expect(found).toEqual([
        runOf(runsTwo, "join"),
        runOf(runsOne, "d"),
        undefined,
        undefined,
        runOf(runsOne, "a"),
      ]);
      expect(await ctx.store.transaction(async (tx) => tx.getRunsByKey([]))).toEqual([]);
    });

    it("updateRuns applies each compare-and-set on its own and answers each, in the order given", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(diamond(), {});
      const other = (await engine.start(diamond(), {})).execution;
      const claimed = await engine.claim({ owner: "w", limit: 10, executionId: execution.id });
      const a = runOf(claimed, "a");
      const runs = await ctx.store.listRuns(execution.id);
      const [c, d] = [runOf(runs, "c"), runOf(runs, "d")];
      const otherB = runOf(await ctx.store.listRuns(other.id), "b");
      const key = (run: typeof a) => ({
        executionId: run.executionId,
        seq: run.seq,
        traversal: run.traversal,
      });
      const changes: RunChange[] = [
        { guard: { ...key(otherB), status: ["blocked"] }, patch: { status: "ready", runAfter: 5 } },
        { guard: { ...key(a), status: ["running"], attempt: a.attempt + 1 }, patch: { status: "failed" } },
        {
          guard: { ...key(a), status: ["running", "waiting"], attempt: a.attempt },
          // leaseOwner set to null, leaseExpiresAt left alone.
          patch: {
            status: "succeeded",
            output: { list: [1, { b: 2, a: 1 }] },
            leaseOwner: null,
            finishedAt: 7,
          },
        },
        { guard: { ...key(c), traversal: "old", status: ["blocked"] }, patch: { status: "ready" } },
        { guard: { ...key(c), seq: 99, status: ["blocked"] }, patch: { status: "ready" } },
        // a again: its guard is checked against the change above, so it no longer holds.
        { guard: { ...key(a), status: ["running"] }, patch: { status: "failed" } },
        { guard: { ...key(d), status: ["blocked"] }, patch: { pending: 5, failedPredecessors: 1 } },
      ];
      const answers = await ctx.store.transaction(async (tx) => tx.updateRuns(changes));
      const [after, otherAfter] = [
        await ctx.store.listRuns(execution.id),
        await ctx.store.listRuns(other.id),
      ];
      expect(answers).toEqual([
        runOf(otherAfter, "b"),
        null,
        runOf(after, "a"),
        null,
        null,
        null,
        runOf(after, "d"),
      ]);
      expect(runOf(otherAfter, "b")).toEqual({ ...otherB, status: "ready", runAfter: 5 });
      expect(runOf(after, "a")).toEqual({
        ...a,
        status: "succeeded",
        output: { list: [1, { b: 2, a: 1 }] },
        leaseOwner: null,
        finishedAt: 7,
      });
      expect(runOf(after, "a").leaseExpiresAt).toBe(a.leaseExpiresAt);
      expect(runOf(after, "c")).toEqual(c);
      expect(runOf(after, "d")).toEqual({ ...d, pending: 5, failedPredecessors: 1 });
      expect(await ctx.store.transaction(async (tx) => tx.updateRuns([]))).toEqual([]);
    });

    it("decrementSyncPoints sums the deltas naming one run and answers it once, in first-delta order", async () => {
      const engine = ctx.engine();
      const three = (await engine.start(fanIn(3), {})).execution;
      const one = (await engine.start(fanIn(2), {})).execution;
      const two = (await engine.start(fanIn(2), {})).execution;
      const joinOf = async (id: string) => runOf(await ctx.store.listRuns(id), "join");
      const [joinThree, joinOne, joinTwo] = [
        await joinOf(three.id),
        await joinOf(one.id),
        await joinOf(two.id),
      ];
      const delta = (run: typeof joinOne, failed = 0, skipped = 0) => ({
        executionId: run.executionId,
        seq: run.seq,
        traversal: run.traversal,
        failed,
        skipped,
      });
      const resolved = await ctx.store.transaction(async (tx) =>
        tx.decrementSyncPoints([
          delta(joinTwo, 0, 1),
          delta(joinThree, 1),
          delta(joinOne),
          delta(joinTwo),
          delta(joinThree, 0, 1),
          delta(joinOne, 1),
        ]),
      );
      // joinThree went from 3 to 1: changed, not resolved.
      expect(resolved).toEqual([
        { ...joinTwo, pending: 0, skippedPredecessors: 1 },
        { ...joinOne, pending: 0, failedPredecessors: 1 },
      ]);
      expect(await joinOf(three.id)).toEqual({
        ...joinThree,
        pending: 1,
        failedPredecessors: 1,
        skippedPredecessors: 1,
      });
      // More deltas than predecessors left: pending stops at zero, and the run is answered once.
      const last = await ctx.store.transaction(async (tx) =>
        tx.decrementSyncPoints([delta(joinThree), delta(joinThree), delta(joinOne)]),
      );
      expect(last).toEqual([{ ...joinThree, pending: 0, failedPredecessors: 1, skippedPredecessors: 1 }]);
      expect(await joinOf(three.id)).toMatchObject({ pending: 0, status: "blocked" });
    });

    it("settles a batch whose runs share successors: each is decided once, skips cascade in waves", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("waves", {
        a: {},
        b: {},
        tolerated: { allowFailure: true },
        join: { after: ["a", "b", "tolerated"] },
        both: { after: ["a", "b"], trigger: "all_done" },
        x: {},
        skippedOnce: { after: ["x"] },
        skippedTwice: { after: ["skippedOnce"] },
        last: { after: ["skippedTwice", "a"], trigger: "all_done" },
      });
      const { execution } = await engine.start(spec, {});
      const claimed = await engine.claim({ owner: "w", limit: 10 });
      const run = (task: string) => ref(runOf(claimed, task));
      const step = await engine.settle([
        { run: run("a"), status: "succeeded", output: "a" },
        { run: run("x"), status: "failed", error: failure("x broke") },
        { run: run("b"), status: "succeeded", output: "b" },
        { run: run("a"), status: "succeeded", output: "again" }, // the same attempt twice: a duplicate
        { run: run("tolerated"), status: "failed", error: failure("tolerated") },
      ]);
      expect(step.appliedOutcomes).toEqual([true, true, true, false, true]);
      expect(step.applied).toBe(4);
      expect(step.ready.map((r) => r.task).sort()).toEqual(["both", "join", "last"]);
      const runs = await ctx.store.listRuns(execution.id);
      expect(runOf(runs, "a")).toMatchObject({ status: "succeeded", output: "a" });
      expect(runOf(runs, "join")).toMatchObject({ status: "ready", pending: 0, failedPredecessors: 0 });
      expect(runOf(runs, "both")).toMatchObject({ status: "ready", pending: 0 });
      expect(runOf(runs, "skippedOnce")).toMatchObject({ status: "skipped", failedPredecessors: 1 });
      expect(runOf(runs, "skippedTwice")).toMatchObject({ status: "skipped", skippedPredecessors: 1 });
      expect(runOf(runs, "last")).toMatchObject({ status: "ready", pending: 0, skippedPredecessors: 1 });
      const events = await ctx.store.listEvents(execution.id);
      expect(eventsOf(events, EventType.taskSucceeded, "a")).toHaveLength(1);
      for (const task of ["join", "both", "last"])
        expect(eventsOf(events, EventType.taskReady, task)).toHaveLength(1);
      expect(eventsOf(events, EventType.taskSkipped).map((e) => e.task)).toEqual([
        "skippedOnce",
        "skippedTwice",
      ]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ failures: 1, error: { task: "x" } });
    });

    it("writes task:started, not task:ready, for a run claimed in the transaction that made it ready", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(diamond(), {});
      const [a] = await engine.claim({ owner: "w", limit: 1 });
      const step = await engine.complete(ref(a!), null, { owner: "w", limit: 1 });
      expect(step.claimed).toHaveLength(1);
      expect(step.ready).toHaveLength(1);
      const [claimed, ready] = [step.claimed[0]!.task, step.ready[0]!.task];
      expect([claimed, ready].sort()).toEqual(["b", "c"]);
      const events = await ctx.store.listEvents(execution.id);
      expect(eventsOf(events, EventType.taskReady, claimed)).toEqual([]);
      expect(eventsOf(events, EventType.taskStarted, claimed)).toHaveLength(1);
      expect(eventsOf(events, EventType.taskReady, ready)).toHaveLength(1);
    });
  });
}
