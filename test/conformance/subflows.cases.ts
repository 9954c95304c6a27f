/**
 * Sub-workflows through the engine alone: a `workflow` run starts a child execution and waits;
 * the child's end settles it (retries start new children); a parent that stops waiting (cancel,
 * deadline) cancels the child; the depth limit; recursion refused at registration.
 */
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { childIdOf } from "../../src/engine/subflows.js";
import type { ExecutionRecord } from "../../src/engine/store.js";
import { drive, failure, ref, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

const child = workflowSpec("child", { work: {} }, { inputs: { n: { type: "number", required: false } } });

const parent = (attempts = 1, timeout?: number) =>
  workflowSpec("parent", {
    sub: {
      action: "workflow",
      with: { workflow: "child", input: { n: 1 } },
      retry: { attempts, backoff: 0 },
      ...(timeout === undefined ? {} : { timeout }),
    },
    after_sub: { after: ["sub"] },
  });

/** Claims the parent's `sub` run and starts its child; answers the child. */
async function startSub(engine: Engine, executionId: string): Promise<ExecutionRecord> {
  const [run] = await engine.claim({ owner: "w", limit: 1, executionId });
  expect(run?.task).toBe("sub");
  const started = await engine.startChild(ref(run!), { workflow: "child", input: { n: 1 } });
  expect(started).not.toBeNull();
  return started!;
}

export function subflowCases(ctx: SuiteContext): void {
  describe("sub-workflows", () => {
    it("starts a child once per attempt, links it, and finishes the parent's task with its output", async () => {
      const engine = ctx.engine();
      await engine.registerWorkflow(child);
      const { execution } = await engine.start(parent(), {});
      const [run] = await engine.claim({ owner: "w", limit: 1, executionId: execution.id });
      const started = await engine.startChild(ref(run!), { workflow: "child", input: { n: 1 } });
      expect(started).toMatchObject({
        id: childIdOf(ref(run!)),
        workflow: "child",
        version: 1,
        input: { n: 1 },
        depth: 1,
        parent: ref(run!),
      });
      // Run again (a COMMIT whose answer was lost), the same attempt starts nothing more.
      expect((await engine.startChild(ref(run!), { workflow: "child" }))?.id).toBe(started!.id);
      expect(await engine.startChild({ ...ref(run!), attempt: 2 }, { workflow: "child" })).toBeNull();
      expect(runOf(await ctx.store.listRuns(execution.id), "sub")).toMatchObject({
        status: "waiting",
        leaseOwner: null,
      });
      expect((await ctx.store.listExecutions({ parentId: execution.id })).map((e) => e.id)).toEqual([
        started!.id,
      ]);
      expect(await ctx.store.getExecution(started!.id)).toMatchObject({ parent: ref(run!), depth: 1 });
      expect((await ctx.store.getExecution(execution.id))?.parent).toBeNull();

      await drive(engine, started!.id, () => ({ status: "succeeded", output: { rows: 7 } }));
      const done = await ctx.store.getExecution(started!.id);
      expect(done).toMatchObject({ status: "succeeded" });
      // The child's end run has no output template: the execution's output is null, the parent's task gets it.
      expect(runOf(await ctx.store.listRuns(execution.id), "sub")).toMatchObject({
        status: "succeeded",
        output: null,
      });
      await drive(engine, execution.id);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("starts one child when two engines (two handles, where the store has them) start one attempt at once", async () => {
      const other = ctx.reopen ? await ctx.reopen(ctx.store) : ctx.store;
      if (other !== ctx.store) ctx.closeLater(other);
      const here = ctx.engine();
      const there = ctx.engine({}, other);
      await here.registerWorkflow(child);
      for (let round = 0; round < 5; round++) {
        const { execution } = await here.start(parent(), {});
        const [run] = await here.claim({ owner: "w", limit: 1, executionId: execution.id });
        const answers = await Promise.all([
          here.startChild(ref(run!), { workflow: "child" }),
          there.startChild(ref(run!), { workflow: "child" }),
        ]);
        expect(answers.map((answer) => answer?.id)).toEqual([childIdOf(ref(run!)), childIdOf(ref(run!))]);
        expect(await ctx.store.listExecutions({ parentId: execution.id })).toHaveLength(1);
      }
    });

    it("passes the child's output to the parent's task", async () => {
      const engine = ctx.engine();
      await engine.registerWorkflow({ ...child, output: "${{ tasks.work.output }}" });
      const { execution } = await engine.start(parent(), {});
      const started = await startSub(engine, execution.id);
      await drive(engine, started.id, (run) =>
        run.kind === "end"
          ? { status: "succeeded", output: { rows: 7 } }
          : { status: "succeeded", output: 1 },
      );
      expect(runOf(await ctx.store.listRuns(execution.id), "sub")).toMatchObject({
        status: "succeeded",
        output: { rows: 7 },
      });
    });

    it("retries a failed child as a new child, per the parent task's retry policy", async () => {
      const engine = ctx.engine();
      await engine.registerWorkflow(child);
      const { execution } = await engine.start(parent(3), {});
      const ids: string[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const started = await startSub(engine, execution.id);
        ids.push(started.id);
        await drive(engine, started.id, () =>
          attempt < 3
            ? { status: "failed", error: failure(`boom ${attempt}`) }
            : { status: "succeeded", output: 1 },
        );
        const sub = runOf(await ctx.store.listRuns(execution.id), "sub");
        expect(sub.status).toBe(attempt < 3 ? "retrying" : "succeeded");
        if (attempt < 3) expect(sub.error?.message).toContain(`boom ${attempt}`);
      }
      expect(new Set(ids).size).toBe(3);
      const children = await ctx.store.listExecutions({ parentId: execution.id });
      expect(children.map((c) => c.status).sort()).toEqual(["failed", "failed", "succeeded"]);
      expect(children.map((c) => c.parent?.attempt).sort()).toEqual([1, 2, 3]);
      await drive(engine, execution.id);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("fails the parent's task, not retried, when the child is cancelled on its own", async () => {
      const engine = ctx.engine();
      await engine.registerWorkflow(child);
      const { execution } = await engine.start(parent(3), {});
      const started = await startSub(engine, execution.id);
      await engine.cancel(started.id);
      const sub = runOf(await ctx.store.listRuns(execution.id), "sub");
      expect(sub).toMatchObject({ status: "failed", error: { type: "SubflowCancelled", retryable: false } });
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "failed" });
    });

    it("cancels the running child when the parent is cancelled", async () => {
      const engine = ctx.engine();
      await engine.registerWorkflow(child);
      const { execution } = await engine.start(parent(), {});
      const started = await startSub(engine, execution.id);
      const [work] = await engine.claim({ owner: "w", limit: 1, executionId: started.id });
      expect(work?.task).toBe("work");
      await engine.cancel(execution.id);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "cancelled" });
      expect(await ctx.store.getExecution(started.id)).toMatchObject({ status: "cancelled" });
      expect(runOf(await ctx.store.listRuns(started.id), "work").status).toBe("cancelled");
      // The child's late result changes nothing.
      expect((await engine.complete(ref(work!), 1)).applied).toBe(0);
    });

    it("runs the child's undos when the parent is cancelled with undo", async () => {
      const engine = ctx.engine();
      const undo = { action: "echo", with: { message: "undo" } };
      await engine.registerWorkflow(
        workflowSpec("child", { work: { undo }, more: { after: ["work"] } }, { inputs: child.inputs }),
      );
      const { execution } = await engine.start(parent(), {});
      const started = await startSub(engine, execution.id);
      const [work] = await engine.claim({ owner: "w", limit: 1, executionId: started.id });
      await engine.complete(ref(work!), 1);
      await engine.cancel(execution.id, { undo: true });
      expect(await ctx.store.getExecution(started.id)).toMatchObject({
        status: "compensating",
        endStatus: "cancelled",
      });
      const [undoRun] = await engine.claim({ owner: "w", limit: 1, executionId: started.id });
      expect(undoRun).toMatchObject({ task: "work", kind: "undo" });
      await engine.complete(ref(undoRun!), null);
      expect(await ctx.store.getExecution(started.id)).toMatchObject({ status: "cancelled" });
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "cancelled" });
    });

    it("cancels the child whose parent's run timed out, and retries with a new child", async () => {
      const engine = ctx.engine();
      await engine.registerWorkflow(child);
      const { execution } = await engine.start(parent(2, 5000), {});
      const first = await startSub(engine, execution.id);
      ctx.clock.advance(6000);
      await engine.reap();
      expect(await ctx.store.getExecution(first.id)).toMatchObject({ status: "cancelled" });
      expect(runOf(await ctx.store.listRuns(execution.id), "sub")).toMatchObject({
        status: "retrying",
        error: { message: "the sub-workflow did not end within the task's timeout of 5000 ms" },
      });
      const second = await startSub(engine, execution.id);
      expect(second.id).not.toBe(first.id);
      await drive(engine, second.id);
      expect(runOf(await ctx.store.listRuns(execution.id), "sub").status).toBe("succeeded");
    });

    it("fails the task, not retried, for an unknown workflow or version, or past the depth limit", async () => {
      const engine = ctx.engine({ maxDepth: 1 });
      await engine.registerWorkflow(child);
      await engine.registerWorkflow(parent(3));
      const { execution } = await engine.start(parent(3), {});
      const [run] = await engine.claim({ owner: "w", limit: 1, executionId: execution.id });
      await expect(engine.startChild(ref(run!), { workflow: "nope" })).rejects.toMatchObject({
        type: "WorkflowNotFound",
        retryable: false,
        message: expect.stringContaining('"nope"'),
      });
      await expect(engine.startChild(ref(run!), { workflow: "child", version: 9 })).rejects.toMatchObject({
        type: "WorkflowNotFound",
        message: expect.stringContaining('"child" version 9'),
      });
      await expect(
        engine.startChild(ref(run!), { workflow: "child", input: { n: "x" } }),
      ).rejects.toMatchObject({ type: "InvalidInput", retryable: false });
      // Nothing was written: the run is still the caller's to report.
      expect(runOf(await ctx.store.listRuns(execution.id), "sub").status).toBe("running");
      // Depth 1 is allowed; its own child would be depth 2.
      const nested = await engine.startChild(ref(run!), { workflow: "parent" });
      const [inner] = await engine.claim({ owner: "w", limit: 1, executionId: nested!.id });
      await expect(engine.startChild(ref(inner!), { workflow: "child" })).rejects.toMatchObject({
        type: "SubflowDepthExceeded",
        retryable: false,
        message: expect.stringContaining("limit of 1"),
      });
    });

    it("refuses to register a workflow whose literal sub-workflows lead back to it", async () => {
      const engine = ctx.engine();
      const calls = (name: string, target: string) =>
        workflowSpec(name, { go: { action: "workflow", with: { workflow: target } } });
      await engine.registerWorkflow(calls("b", "a"));
      await expect(engine.registerWorkflow(calls("a", "b"))).rejects.toMatchObject({
        code: "RECURSIVE_WORKFLOW",
        message: expect.stringContaining("a.go -> b -> b.go -> a"),
      });
      await expect(engine.registerWorkflow(calls("self", "self"))).rejects.toMatchObject({
        code: "RECURSIVE_WORKFLOW",
      });
      // A name computed by an expression is left to the depth limit.
      await engine.registerWorkflow(calls("c", "${{ inputs.next }}"));
      expect((await ctx.store.listWorkflows()).map((w) => w.name)).toEqual(["b", "c"]);
    });
  });
}
