/** The registry of workflow definitions: versions by name, the highest one by default. */
import { describe, expect, it } from "vitest";
import { Origin } from "../../src/engine/store.js";
import { MAX_NAME_LENGTH } from "../../src/definition/names.js";
import { workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

export function workflowCases(ctx: SuiteContext): void {
  describe("workflow registry", () => {
    it("keeps every version of a workflow and answers the highest by default", async () => {
      const record = (name: string, version: number) => ({
        name,
        version,
        spec: workflowSpec(name, { t: { with: { version } } }, { version }),
        origin: version === 3 ? Origin.http : Origin.direct,
        code: version === 2 ? "c0de" : null,
        createdAt: ctx.clock.t + version,
      });
      await ctx.store.transaction(async (tx) => {
        await tx.insertWorkflow(record("flow", 1));
        await tx.insertWorkflow(record("flow", 3));
        await tx.insertWorkflow(record("flow", 2));
        await tx.insertWorkflow(record("another", 1));
      });
      await ctx.store.transaction(async (tx) => {
        expect(await tx.getWorkflow("flow")).toEqual(record("flow", 3));
        expect(await tx.getWorkflow("flow", 2)).toEqual(record("flow", 2));
        expect(await tx.getWorkflow("flow", 9)).toBeUndefined();
        expect(await tx.getWorkflow("missing")).toBeUndefined();
      });
      expect(await ctx.store.listWorkflows()).toEqual([record("another", 1), record("flow", 3)]);

      // (name, version) is unique; the failed transaction leaves nothing behind.
      const duplicate = ctx.store.transaction(async (tx) => {
        await tx.insertWorkflow(record("third", 1));
        await tx.insertWorkflow(record("flow", 2));
      });
      await expect(duplicate).rejects.toThrow();
      expect((await ctx.store.listWorkflows()).map((w) => w.name)).toEqual(["another", "flow"]);
    });

    it("registers definitions through the engine: the same one once, a changed one as the next version", async () => {
      const engine = ctx.engine();
      const v1 = workflowSpec("registered", { a: {} });
      const first = await engine.registerWorkflow(v1);
      expect(first).toMatchObject({ name: "registered", version: 1 });
      expect(await engine.registerWorkflow(v1)).toEqual(first);
      const v2 = await engine.registerWorkflow(workflowSpec("registered", { a: {}, b: { after: ["a"] } }));
      expect(v2.version).toBe(2);
      expect((await engine.getWorkflow("registered")).spec).toEqual(v2.spec);
      expect((await engine.getWorkflow("registered", 1)).spec).toEqual({ ...v1, version: 1 });
      const pinned = workflowSpec("registered", { c: {} }, { version: 2 });
      await expect(engine.registerWorkflow(pinned)).rejects.toMatchObject({
        code: "WORKFLOW_VERSION_CONFLICT",
      });
    });

    it("records where each version came from, and executions keep the origin they were started with", async () => {
      const engine = ctx.engine();
      const remote = await engine.registerWorkflow(workflowSpec("remote", { a: {} }), Origin.http);
      expect(remote.origin).toBe("http");
      const local = await engine.registerWorkflow(workflowSpec("local", { a: {} }));
      expect(local.origin).toBe("direct");
      // The same definition again over another route keeps the origin it was first registered with.
      expect((await engine.registerWorkflow(workflowSpec("remote", { a: {} }))).origin).toBe("http");
      expect((await engine.registerWorkflow(workflowSpec("local", { a: {} }), Origin.http)).origin).toBe(
        "direct",
      );
      expect((await engine.getWorkflow("remote", 1)).origin).toBe("http");
      const listed = await ctx.store.listWorkflows();
      expect(listed.map((w) => [w.name, w.origin])).toEqual([
        ["local", "direct"],
        ["remote", "http"],
      ]);

      const { execution } = await engine.start(remote.spec, {}, { id: "from-http", origin: remote.origin });
      expect(execution.origin).toBe("http");
      expect((await ctx.store.getExecution("from-http"))?.origin).toBe("http");
      await engine.start(local.spec, {}, { id: "from-file" });
      expect((await ctx.store.getExecution("from-file"))?.origin).toBe("direct");
      const listedExecutions = await ctx.store.listExecutions();
      expect(Object.fromEntries(listedExecutions.map((e) => [e.id, e.origin]))).toEqual({
        "from-http": "http",
        "from-file": "direct",
      });
    });

    it("refuses a name too long to index with NAME_TOO_LONG, not a driver error, and keeps working", async () => {
      // The library hands specs straight to the store: nothing here went through the DSL.
      const engine = ctx.engine();
      const longName = "w".repeat(9000);
      const tooLong = { code: "NAME_TOO_LONG", message: expect.stringContaining("(9,000 characters)") };
      await expect(engine.registerWorkflow(workflowSpec(longName, { a: {} }))).rejects.toMatchObject(tooLong);
      await expect(engine.start(workflowSpec(longName, { a: {} }), {})).rejects.toMatchObject(tooLong);
      const longTask = workflowSpec("long-task", { ["t".repeat(9000)]: {} });
      await expect(engine.registerWorkflow(longTask)).rejects.toMatchObject(tooLong);
      await expect(engine.start(longTask, {})).rejects.toMatchObject(tooLong);
      const longest = workflowSpec("n".repeat(MAX_NAME_LENGTH), { ["t".repeat(MAX_NAME_LENGTH)]: {} });
      expect(await engine.registerWorkflow(longest)).toMatchObject({ name: longest.name, version: 1 });
      const { execution } = await engine.start(longest, {});
      expect((await ctx.store.getExecution(execution.id))?.workflow).toBe(longest.name);
      expect((await ctx.store.listWorkflows()).map((w) => w.name)).toEqual([longest.name]);
    });

    it("answers an unsubscribe function from subscribe", () => {
      const unsubscribe = ctx.store.subscribe(() => {});
      expect(typeof unsubscribe).toBe("function");
      unsubscribe();
    });
  });
}
