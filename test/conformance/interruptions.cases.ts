/**
 * Interruptions: an attempt whose worker was lost (its lease expired, its process died, its
 * worker shut down) is not a failure of the task. It runs again at once without using up
 * `retry.attempts`, and `retry.interruptions` bounds how often, so that a task that kills its
 * worker every time still ends. The count lives in the store (`interruptions` on the run).
 */
import { describe, expect, it } from "vitest";
import { EventType } from "../../src/engine/store.js";
import { eventsOf, failure, LEASE_MS, ref, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

export function interruptionCases(ctx: SuiteContext): void {
  describe("interruptions", () => {
    it("an expired lease is an interruption: the task runs again at once, until retry.interruptions is used up", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("lost", { t: { retry: { attempts: 1, interruptions: 2 } } });
      const { execution } = await engine.start(spec, {});
      let [run] = await engine.claim({ owner: "w", limit: 1 });
      ctx.clock.advance(LEASE_MS); // not yet: the lease expires strictly after its time
      expect((await engine.reap()).reaped).toBe(0);
      for (let lost = 1; lost <= 2; lost++) {
        ctx.clock.advance(LEASE_MS + 1);
        expect(await engine.reap()).toMatchObject({ reaped: 1, ended: [] });
        expect(runOf(await ctx.store.listRuns(execution.id), "t")).toMatchObject({
          status: "retrying",
          attempt: lost,
          interruptions: lost,
          maxAttempts: 1,
          runAfter: ctx.clock.now(),
          error: { type: "LeaseExpired", retryable: true },
        });
        // The lost worker's late report is refused; the next claim gets the task at once.
        expect((await engine.complete(ref(run!), "late")).applied).toBe(0);
        [run] = await engine.claim({ owner: "w", limit: 1 });
        expect(run).toMatchObject({ task: "t", attempt: lost + 1 });
      }
      ctx.clock.advance(LEASE_MS + 1);
      expect(await engine.reap()).toMatchObject({ reaped: 1, ended: [execution.id] });
      const failed = runOf(await ctx.store.listRuns(execution.id), "t");
      expect(failed).toMatchObject({ status: "failed", attempt: 3, interruptions: 3 });
      expect(failed.error).toMatchObject({ type: "LeaseExpired", retryable: false });
      expect(failed.error!.message).toContain(
        "its worker was lost 3 times, more than retry.interruptions (2) allows",
      );
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        status: "failed",
        error: { task: "t" },
      });
      const events = await ctx.store.listEvents(execution.id);
      expect(eventsOf(events, EventType.leaseExpired, "t").map((e) => e.attempt)).toEqual([1, 2, 3]);
      expect(eventsOf(events, EventType.taskRetrying, "t")).toHaveLength(2);
    });

    it("interrupted attempts do not use up retry.attempts: a task still gets every try its policy gives", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("tries", { t: { retry: { attempts: 2, backoff: 0 } } });
      const { execution } = await engine.start(spec, {});
      await engine.claim({ owner: "w", limit: 1 });
      ctx.clock.advance(LEASE_MS + 1);
      expect((await engine.reap()).reaped).toBe(1);
      // Attempt 2 is the first real try: its failure leaves one more.
      const [second] = await engine.claim({ owner: "w", limit: 1 });
      expect(second).toMatchObject({ attempt: 2, interruptions: 1 });
      await engine.fail(ref(second!), failure("flaky", true));
      expect(runOf(await ctx.store.listRuns(execution.id), "t")).toMatchObject({
        status: "retrying",
        attempt: 2,
      });
      const [third] = await engine.claim({ owner: "w", limit: 1 });
      await engine.fail(ref(third!), failure("flaky again", true));
      expect(runOf(await ctx.store.listRuns(execution.id), "t")).toMatchObject({
        status: "failed",
        attempt: 3,
        interruptions: 1,
        error: { message: "flaky again" },
      });
    });

    it("a run released by its worker (interrupted outcome) runs again without using up an attempt", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(workflowSpec("released", { t: {} }), {});
      const [run] = await engine.claim({ owner: "w", limit: 1 });
      const error = { type: "Abandoned", message: "worker w shut down", retryable: true };
      const step = await engine.settle([{ run: ref(run!), status: "interrupted", error }]);
      expect(step.appliedOutcomes).toEqual([true]);
      expect(runOf(await ctx.store.listRuns(execution.id), "t")).toMatchObject({
        status: "retrying",
        interruptions: 1,
        runAfter: ctx.clock.now(),
        leaseOwner: null,
      });
      const [again] = await engine.claim({ owner: "w2", limit: 1 });
      await engine.complete(ref(again!), "done");
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
      expect(runOf(await ctx.store.listRuns(execution.id), "t")).toMatchObject({
        status: "succeeded",
        attempt: 2,
        interruptions: 1,
      });
    });

    it("abandon (a dead process's runs) is an interruption; an operator's retry starts the count afresh", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("abandoned", { t: { retry: { interruptions: 0 } } });
      const { execution } = await engine.start(spec, {});
      await engine.claim({ owner: "dead", limit: 1 });
      expect(await engine.abandon(execution.id, (owner) => owner === "dead")).toBe(1);
      expect(runOf(await ctx.store.listRuns(execution.id), "t")).toMatchObject({
        status: "failed",
        interruptions: 1,
      });
      await engine.retryTask(execution.id, "t");
      expect(runOf(await ctx.store.listRuns(execution.id), "t")).toMatchObject({
        status: "ready",
        interruptions: 0,
      });
      const [again] = await engine.claim({ owner: "w", limit: 1 });
      await engine.complete(ref(again!), "done");
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("a delegate whose deadline passed failed by itself: that uses up an attempt, not an interruption", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("late", { d: { action: "delegate", timeout: 500 } });
      const { execution } = await engine.start(spec, {});
      const [run] = await engine.claim({ owner: "w", limit: 1 });
      await engine.wait(ref(run!));
      ctx.clock.advance(501);
      expect((await engine.reap()).reaped).toBe(1);
      expect(runOf(await ctx.store.listRuns(execution.id), "d")).toMatchObject({
        status: "failed",
        interruptions: 0,
        error: { type: "TimeoutError" },
      });
    });
  });
}
