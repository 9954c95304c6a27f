/** Transactions: all or nothing, whatever the function did before it threw. */
import { describe, expect, it } from "vitest";
import { EventType, type Store } from "../../src/engine/store.js";
import { diamond, ref, runOf } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

async function snapshot(store: Store, executionId: string) {
  return {
    execution: await store.getExecution(executionId),
    runs: await store.listRuns(executionId),
    events: await store.listEvents(executionId),
    executions: await store.listExecutions(),
  };
}

export function transactionCases(ctx: SuiteContext): void {
  describe("transactions", () => {
    it("answers what its function returns", async () => {
      expect(await ctx.store.transaction(async () => 42)).toBe(42);
    });

    it("leaves nothing behind when its function throws after inserting", async () => {
      const { execution } = await ctx.engine().start(diamond(), {}, { id: "template" });
      const runs = await ctx.store.listRuns(execution.id);
      const copy = { ...execution, id: "doomed" };
      const attempt = ctx.store.transaction(async (tx) => {
        await tx.insertExecution(copy);
        await tx.insertRuns(runs.map((run) => ({ ...run, executionId: "doomed" })));
        await tx.appendEvents([{ executionId: "doomed", at: ctx.clock.t, type: EventType.executionCreated }]);
        expect(await tx.getExecution("doomed")).toMatchObject({ id: "doomed" });
        throw new Error("boom");
      });
      await expect(attempt).rejects.toThrow("boom");
      expect(await ctx.store.getExecution("doomed")).toBeUndefined();
      expect(await ctx.store.listRuns("doomed")).toEqual([]);
      expect(await ctx.store.listEvents("doomed")).toEqual([]);
      expect((await ctx.store.listExecutions()).map((e) => e.id)).toEqual(["template"]);
      // The same rows can be written afterwards: nothing half-written stands in the way.
      await ctx.store.transaction(async (tx) => {
        await tx.insertExecution(copy);
        await tx.insertRuns(runs.map((run) => ({ ...run, executionId: "doomed" })));
      });
      expect(await ctx.store.listRuns("doomed")).toHaveLength(runs.length);
    });

    it("restores every row it changed when its function throws", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(diamond(), {});
      const [a] = await engine.claim({ owner: "w", limit: 1 });
      const before = await snapshot(ctx.store, execution.id);
      const attempt = ctx.store.transaction(async (tx) => {
        const guard = {
          executionId: a!.executionId,
          seq: a!.seq,
          traversal: a!.traversal,
          status: ["running"] as const,
        };
        await tx.updateRun(guard, { status: "succeeded", output: "x", tokenHash: "hash", finishedAt: 1 });
        await tx.decrementSyncPoints(
          a!.successors.map((seq) => ({
            executionId: a!.executionId,
            seq,
            traversal: a!.traversal,
            failed: 0,
            skipped: 0,
          })),
        );
        await tx.updateExecution(execution.id, { status: ["running"] }, { status: "failed", updatedAt: 5 });
        await tx.recordFailure(execution.id, { type: "E", message: "m" });
        await tx.claimRuns({ now: ctx.clock.t, owner: "x", leaseExpiresAt: ctx.clock.t + 1, limit: 10 });
        await tx.appendEvents([{ executionId: execution.id, at: 1, type: EventType.taskSucceeded }]);
        throw new Error("boom");
      });
      await expect(attempt).rejects.toThrow("boom");
      expect(await snapshot(ctx.store, execution.id)).toEqual(before);
      expect(await ctx.store.transaction(async (tx) => tx.findRunByToken("hash"))).toBeUndefined();
      // And the store carries on: the rolled-back completion applies for real.
      const step = await engine.complete(ref(a!), "real");
      expect(step.applied).toBe(1);
      expect(runOf(await ctx.store.listRuns(execution.id), "b")).toMatchObject({ status: "ready" });
    });

    it("applies concurrent transactions whole, one after another", async () => {
      const { execution } = await ctx.engine().start(diamond(), {});
      const increments = Array.from({ length: 20 }, (_, i) =>
        ctx.store.transaction(async (tx) => {
          await tx.recordFailure(execution.id, { type: "E", message: `failure ${i}` });
          if (i % 5 === 4) throw new Error(`rolled back ${i}`);
          return i;
        }),
      );
      const settled = await Promise.allSettled(increments);
      expect(settled.filter((s) => s.status === "rejected")).toHaveLength(4);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ failures: 16 });
    });
  });
}
