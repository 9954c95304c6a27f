/**
 * Counts for `/metrics`: executions by status and the ready-queue depth, read from the store so
 * that a server scraped beside separate workers reports what the workers did.
 */
import { describe, expect, it } from "vitest";
import { drive, failure, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

const ZERO = { pending: 0, running: 0, compensating: 0, succeeded: 0, failed: 0, cancelled: 0, undone: 0 };

export function countCases(ctx: SuiteContext): void {
  describe("counts", () => {
    it("answers every status, zero on an empty store, and no ready runs", async () => {
      expect(await ctx.store.countExecutions()).toEqual(ZERO);
      expect(await ctx.store.countReady(ctx.clock.t)).toBe(0);
    });

    it("counts executions by the status they are in now, whoever moved them", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("counted", { a: {}, b: { after: ["a"] } });
      const done = await engine.start(spec, {});
      const failed = await engine.start(spec, {});
      await engine.start(spec, {});
      const cancelled = await engine.start(spec, {});
      expect(await ctx.store.countExecutions()).toEqual({ ...ZERO, running: 4 });

      await drive(engine, done.execution.id);
      await drive(engine, failed.execution.id, () => ({ status: "failed", error: failure("no") }));
      await engine.cancel(cancelled.execution.id);
      expect(await ctx.store.countExecutions()).toEqual({
        ...ZERO,
        running: 1,
        succeeded: 1,
        failed: 1,
        cancelled: 1,
      });
    });

    it("counts ready and retrying runs due by now: not blocked, running or later ones", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("queue", { a: {}, b: {}, c: {}, d: { after: ["a"] } });
      const { execution } = await engine.start(spec, {});
      await engine.start(workflowSpec("one", { x: {} }), {});
      expect(await ctx.store.countReady(ctx.clock.t)).toBe(4); // a, b, c and x; d is blocked

      const c = runOf(await ctx.store.listRuns(execution.id), "c");
      const later = ctx.clock.t + 5000;
      await ctx.store.transaction(async (tx) => {
        await tx.updateRun(
          { executionId: c.executionId, seq: c.seq, status: ["ready"], traversal: c.traversal },
          { runAfter: later },
        );
      });
      expect(await ctx.store.countReady(ctx.clock.t)).toBe(3);
      expect(await ctx.store.countReady(later)).toBe(4);

      const claimed = await engine.claim({ owner: "w", limit: 2 });
      expect(claimed).toHaveLength(2);
      expect(await ctx.store.countReady(ctx.clock.t)).toBe(1);
      expect(await ctx.store.countReady(later)).toBe(2);
    });
  });
}
