/** Delegates: a run waits for a third party's callback, found by the hash of its token. */
import { describe, expect, it } from "vitest";
import { hashToken } from "../../src/shared/ids.js";
import { drive, failure, ref, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

const approval = (timeout: number, attempts = 1) =>
  workflowSpec("approval", {
    approve: { action: "delegate", timeout, retry: { attempts, backoff: 0 } },
    next: { after: ["approve"] },
  });

export function delegateCases(ctx: SuiteContext): void {
  describe("delegates", () => {
    it("waits with a token; a callback applies once, a repeat is a duplicate, another output a conflict", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(approval(60_000), {});
      const [run] = await engine.claim({ owner: "w", limit: 1 });
      const waiting = await engine.wait(ref(run!));
      expect(waiting).not.toBeNull();
      const { token } = waiting!;
      expect(waiting!.run).toMatchObject({
        status: "waiting",
        tokenHash: hashToken(token),
        deadline: ctx.clock.t + 60_000,
        leaseOwner: null,
        leaseExpiresAt: null,
      });
      expect(runOf(await ctx.store.listRuns(execution.id), "approve")).toEqual(waiting!.run);
      expect(await ctx.store.transaction(async (tx) => tx.findRunByToken(hashToken(token)))).toEqual(
        waiting!.run,
      );
      expect(
        await ctx.store.transaction(async (tx) => tx.findRunByToken(hashToken("other"))),
      ).toBeUndefined();
      // A waiting run holds no lease: the reaper leaves it alone until its deadline.
      ctx.clock.advance(30_000);
      expect((await engine.reap()).reaped).toBe(0);

      const applied = await engine.completeByToken(token, { approved: true });
      expect(applied.status).toBe("applied");
      expect(applied.status === "applied" && applied.step.ready.map((r) => r.task)).toEqual(["next"]);
      expect((await engine.completeByToken(token, { approved: true })).status).toBe("duplicate");
      expect((await engine.completeByToken(token, { approved: false })).status).toBe("conflict");
      expect((await engine.failByToken(token, failure("too late"))).status).toBe("conflict");
      expect((await engine.completeByToken("no-such-token", {})).status).toBe("not_found");
      const approved = runOf(await ctx.store.listRuns(execution.id), "approve");
      expect(approved).toMatchObject({ status: "succeeded", output: { approved: true } });

      await drive(engine, execution.id);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("refuses to make a run wait that is no longer the caller's", async () => {
      const engine = ctx.engine();
      await engine.start(approval(1000), {});
      const [run] = await engine.claim({ owner: "w", limit: 1 });
      expect(await engine.wait({ ...ref(run!), attempt: 2 })).toBeNull();
      expect(await engine.wait(ref(run!))).not.toBeNull();
      expect(await engine.wait(ref(run!))).toBeNull(); // already waiting
    });

    it("reaps a delegate whose deadline passed, by compare-and-set on the deadline", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(approval(1000, 2), {});
      const [run] = await engine.claim({ owner: "w", limit: 1 });
      const first = await engine.wait(ref(run!));
      const deadline = first!.run.deadline!;
      ctx.clock.advance(1001);
      const guard = {
        executionId: execution.id,
        seq: run!.seq,
        traversal: run!.traversal,
        status: ["waiting"] as const,
      };
      await ctx.store.transaction(async (tx) => {
        // The deadline must have passed strictly before the given time.
        expect(await tx.updateRun({ ...guard, deadlineBefore: deadline }, { status: "failed" })).toBeNull();
        expect(
          await tx.updateRun({ ...guard, leaseExpiresBefore: ctx.clock.t }, { status: "failed" }),
        ).toBeNull();
        const expired = await tx.findExpiredRuns(ctx.clock.t, 10);
        expect(expired.map((r) => [r.task, r.status])).toEqual([["approve", "waiting"]]);
      });

      expect((await engine.reap()).reaped).toBe(1);
      const retrying = runOf(await ctx.store.listRuns(execution.id), "approve");
      expect(retrying).toMatchObject({
        status: "retrying",
        tokenHash: null,
        deadline: null,
        error: { type: "TimeoutError" },
      });
      expect((await engine.completeByToken(first!.token, "late")).status).toBe("not_found");

      const [again] = await engine.claim({ owner: "w", limit: 1 });
      const second = await engine.wait(ref(again!));
      expect(second!.token).not.toBe(first!.token);
      const rejected = await engine.failByToken(second!.token, failure("rejected"));
      expect(rejected.status).toBe("applied");
      const runs = await ctx.store.listRuns(execution.id);
      expect(runOf(runs, "approve")).toMatchObject({
        status: "failed",
        attempt: 2,
        error: { message: "rejected" },
      });
      expect(runOf(runs, "next")).toMatchObject({ status: "skipped" });
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        status: "failed",
        error: { task: "approve" },
      });
    });
  });
}
