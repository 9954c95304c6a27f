/** Sync points: a completion decrements its successors in its own transaction; a join resolves once. */
import { describe, expect, it } from "vitest";
import { EventType } from "../../src/engine/store.js";
import { diamond, drive, eventsOf, failure, fanIn, ref, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

export function syncPointCases(ctx: SuiteContext): void {
  describe("sync points", () => {
    it("completing a task decrements its successors' sync points in the same transaction", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(diamond(), {});
      const [a] = await engine.claim({ owner: "w", limit: 10 });
      const afterA = await engine.complete(ref(a!), { n: 1 });
      expect(afterA.applied).toBe(1);
      expect(afterA.ready.map((run) => run.task).sort()).toEqual(["b", "c"]);
      let runs = await ctx.store.listRuns(execution.id);
      expect(runOf(runs, "a")).toMatchObject({
        status: "succeeded",
        output: { n: 1 },
        finishedAt: ctx.clock.t,
      });
      expect(runOf(runs, "b")).toMatchObject({ status: "ready", pending: 0 });
      expect(runOf(runs, "d")).toMatchObject({ status: "blocked", pending: 2 });

      const [b, c] = await engine.claim({ owner: "w", limit: 10 });
      expect((await engine.complete(ref(b!), null)).ready).toEqual([]);
      expect(runOf(await ctx.store.listRuns(execution.id), "d")).toMatchObject({
        status: "blocked",
        pending: 1,
      });
      const last = await engine.complete(ref(c!), null);
      expect(last.ready.map((run) => run.task)).toEqual(["d"]);
      runs = await ctx.store.listRuns(execution.id);
      expect(runOf(runs, "d")).toMatchObject({ status: "ready", pending: 0, failedPredecessors: 0 });
      expect(last.ready[0]).toEqual(runOf(runs, "d"));
    });

    it("makes a join with k predecessors ready exactly once, whatever the completion order", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(fanIn(6), {});
      const claimed = await engine.claim({ owner: "w", limit: 10 });
      expect(claimed).toHaveLength(6);
      const order = [3, 0, 5, 1, 4, 2].map((i) => claimed[i]!);
      const readies: string[][] = [];
      for (const run of order)
        readies.push((await engine.complete(ref(run), run.task)).ready.map((r) => r.task));
      expect(readies).toEqual([[], [], [], [], [], ["join"]]);
      const events = await ctx.store.listEvents(execution.id);
      expect(eventsOf(events, EventType.taskReady, "join")).toHaveLength(1);
      expect(eventsOf(events, EventType.taskSucceeded)).toHaveLength(6);
    });

    it("decrementSyncPoints answers exactly the runs it brought to zero", async () => {
      const { execution } = await ctx.engine().start(fanIn(2), {});
      const runs = await ctx.store.listRuns(execution.id);
      const join = runOf(runs, "join");
      const p0 = runOf(runs, "p0");
      const delta = {
        executionId: execution.id,
        seq: join.seq,
        traversal: join.traversal,
        failed: 0,
        skipped: 0,
      };
      await ctx.store.transaction(async (tx) => {
        expect(await tx.decrementSyncPoints([{ ...delta, traversal: "old" }])).toEqual([]);
        expect(await tx.decrementSyncPoints([{ ...delta, seq: p0.seq }])).toEqual([]); // p0 is not blocked
        expect(await tx.decrementSyncPoints([{ ...delta, failed: 1 }])).toEqual([]);
        const resolved = await tx.decrementSyncPoints([{ ...delta, skipped: 1 }]);
        expect(resolved).toEqual([
          { ...join, pending: 0, failedPredecessors: 1, skippedPredecessors: 1, status: "blocked" },
        ]);
        // Already at zero: never decremented below it, never answered twice.
        expect(await tx.decrementSyncPoints([delta])).toEqual([]);
      });
      expect(runOf(await ctx.store.listRuns(execution.id), "join")).toMatchObject({
        pending: 0,
        failedPredecessors: 1,
      });
      expect(runOf(await ctx.store.listRuns(execution.id), "p0")).toEqual(p0);

      // Two deltas for one run in one call: the second resolves it, once.
      const other = await ctx.engine().start(fanIn(2), {});
      const otherJoin = runOf(await ctx.store.listRuns(other.execution.id), "join");
      const both = { ...delta, executionId: other.execution.id, traversal: otherJoin.traversal };
      const resolved = await ctx.store.transaction(async (tx) => tx.decrementSyncPoints([both, both, both]));
      expect(resolved.map((run) => [run.task, run.pending])).toEqual([["join", 0]]);
    });

    it("decides resolved runs by their trigger: skips propagate, failures count", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("triggers", {
        a: {},
        onSuccess: { after: ["a"] },
        afterSkip: { after: ["onSuccess"] },
        always: { after: ["a"], trigger: "all_done" },
        onFailure: { after: ["a"], trigger: "any_failed" },
        tolerated: { allowFailure: true },
        afterTolerated: { after: ["tolerated"] },
      });
      const { execution } = await engine.start(spec, {});
      await drive(engine, execution.id, (run) =>
        run.task === "a" || run.task === "tolerated"
          ? { status: "failed", error: failure(`${run.task} failed`) }
          : { status: "succeeded", output: run.task },
      );
      const runs = await ctx.store.listRuns(execution.id);
      const status = (task: string) => runOf(runs, task).status;
      expect(status("onSuccess")).toBe("skipped");
      expect(status("afterSkip")).toBe("skipped");
      expect(status("always")).toBe("succeeded");
      expect(status("onFailure")).toBe("succeeded");
      expect(status("afterTolerated")).toBe("succeeded"); // allowFailure: counts as done, not failed
      const ended = await ctx.store.getExecution(execution.id);
      expect(ended).toMatchObject({ status: "failed", failures: 1, error: { task: "a" } });
    });
  });
}
