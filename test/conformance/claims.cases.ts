/** Claims: batches of ready work under a lease, and the compare-and-set every transition rests on. */
import { describe, expect, it } from "vitest";
import { failure, LEASE_MS, ref, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

const roots = (n: number) =>
  workflowSpec(`roots-${n}`, Object.fromEntries(Array.from({ length: n }, (_, i) => [`r${i}`, {}])));

export function claimCases(ctx: SuiteContext): void {
  describe("claims", () => {
    it("claims a batch of up to N ready runs per call, under a lease, counting the attempt", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(roots(5), {});
      const first = await engine.claim({ owner: "w-1", limit: 3 });
      expect(first).toHaveLength(3);
      for (const run of first) {
        expect(run).toMatchObject({
          status: "running",
          attempt: 1,
          leaseOwner: "w-1",
          leaseExpiresAt: ctx.clock.t + LEASE_MS,
          startedAt: ctx.clock.t,
        });
        expect((await ctx.store.getRuns(execution.id, [run.seq]))[0]).toEqual(run);
      }
      const second = await engine.claim({ owner: "w-2", limit: 3 });
      expect(second).toHaveLength(2);
      expect(new Set([...first, ...second].map((run) => run.task)).size).toBe(5);
      expect(await engine.claim({ owner: "w-3", limit: 3 })).toEqual([]);
      expect(await ctx.store.nextRunAfter()).toBeNull();
    });

    it("claims only ready or retrying runs whose runAfter has passed", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("later", {
        a: { retry: { attempts: 2, backoff: 1000 } },
        b: { after: ["a"] },
      });
      const { execution } = await engine.start(spec, {});
      const a = runOf(await ctx.store.listRuns(execution.id), "a");
      const due = ctx.clock.t + 500;
      await ctx.store.transaction(async (tx) => {
        const moved = await tx.updateRun(
          { executionId: a.executionId, seq: a.seq, status: ["ready"], traversal: a.traversal },
          { runAfter: due },
        );
        expect(moved).toMatchObject({ status: "ready", runAfter: due });
      });
      expect(await engine.claim({ owner: "w", limit: 10 })).toEqual([]); // a not due, b blocked
      expect(await ctx.store.nextRunAfter()).toBe(due);
      expect(await ctx.store.nextRunAfter(execution.id)).toBe(due);
      expect(await ctx.store.nextRunAfter("other")).toBeNull();

      ctx.clock.advance(500);
      const [claimed] = await engine.claim({ owner: "w", limit: 10 });
      expect(claimed).toMatchObject({ task: "a", attempt: 1 });
      // A retryable failure with attempts left: retrying, claimable after half the backoff.
      const failed = await engine.fail(ref(claimed!), failure("flaky", true));
      expect(failed.applied).toBe(1);
      const retrying = runOf(await ctx.store.listRuns(execution.id), "a");
      expect(retrying).toMatchObject({ status: "retrying", runAfter: ctx.clock.t + 500, leaseOwner: null });
      expect(await engine.claim({ owner: "w", limit: 10 })).toEqual([]);
      expect(await ctx.store.nextRunAfter(execution.id)).toBe(ctx.clock.t + 500);
      ctx.clock.advance(500);
      const [again] = await engine.claim({ owner: "w", limit: 10 });
      expect(again).toMatchObject({ task: "a", attempt: 2, status: "running" });
    });

    it("claims only the given execution's runs when asked", async () => {
      const engine = ctx.engine();
      const one = await engine.start(roots(3), {});
      const two = await engine.start(roots(3), {});
      const claimed = await engine.claim({ owner: "w", limit: 10, executionId: two.execution.id });
      expect(claimed).toHaveLength(3);
      expect(claimed.every((run) => run.executionId === two.execution.id)).toBe(true);
      expect(await ctx.store.nextRunAfter(two.execution.id)).toBeNull();
      expect(await ctx.store.nextRunAfter(one.execution.id)).toBe(ctx.clock.t);
      expect(await engine.claim({ owner: "w", limit: 10 })).toHaveLength(3);
    });

    it("updates a run by compare-and-set on status, attempt and traversal", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(roots(1), {});
      const [run] = await engine.claim({ owner: "w", limit: 1 });
      const guard = { executionId: execution.id, seq: run!.seq, traversal: run!.traversal };
      const patch = { output: { rows: [1, 2], ok: true }, leaseOwner: null, status: "succeeded" } as const;
      await ctx.store.transaction(async (tx) => {
        expect(await tx.updateRun({ ...guard, status: ["ready"] }, patch)).toBeNull();
        expect(await tx.updateRun({ ...guard, status: ["running"], attempt: 2 }, patch)).toBeNull();
        expect(await tx.updateRun({ ...guard, status: ["running"], traversal: "other" }, patch)).toBeNull();
        expect(await tx.updateRun({ ...guard, seq: 99, status: ["running"] }, patch)).toBeNull();
        expect(
          await tx.updateRun({ ...guard, executionId: "missing", status: ["running"] }, patch),
        ).toBeNull();
        // Reaping guards: the lease must have expired strictly before the given time.
        const lease = run!.leaseExpiresAt!;
        expect(
          await tx.updateRun({ ...guard, status: ["running"], leaseExpiresBefore: lease }, patch),
        ).toBeNull();
        expect(
          await tx.updateRun({ ...guard, status: ["running"], deadlineBefore: lease + 1 }, patch),
        ).toBeNull();
      });
      expect((await ctx.store.getRuns(execution.id, [run!.seq]))[0]).toEqual(run);

      const updated = await ctx.store.transaction(async (tx) =>
        tx.updateRun(
          {
            ...guard,
            status: ["ready", "running"],
            attempt: 1,
            leaseExpiresBefore: run!.leaseExpiresAt! + 1,
          },
          patch,
        ),
      );
      expect(updated).toEqual({ ...run, ...patch });
      expect((await ctx.store.getRuns(execution.id, [run!.seq]))[0]).toEqual(updated);
    });

    it("renews leases by heartbeat and reports the runs it lost", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(roots(2), {});
      const [x, y] = await engine.claim({ owner: "w", limit: 2 });
      ctx.clock.advance(600);
      expect(await engine.heartbeat([ref(x!), ref(y!)])).toEqual([]);
      for (const run of await ctx.store.listRuns(execution.id)) {
        if (run.kind === "task") expect(run.leaseExpiresAt).toBe(ctx.clock.t + LEASE_MS);
      }
      // Past the first lease but within the renewed one: nothing to reap.
      ctx.clock.advance(600);
      expect((await engine.reap()).reaped).toBe(0);

      await engine.complete(ref(y!), "done");
      const stale = { ...ref(x!), attempt: 7 };
      expect(await engine.heartbeat([ref(x!), ref(y!), stale])).toEqual([ref(y!), stale]);
    });
  });
}
