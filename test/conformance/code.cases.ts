/**
 * Code-first workflows: a run that calls a builder function is claimed only by a claimer that
 * has that function's code id; every other run is claimable by anyone. The registry keeps the
 * code id with each version, so the same spec with changed functions is another version.
 */
import { describe, expect, it } from "vitest";
import { ref, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

/** `fn` calls a function; `act` (an action) and the end need no code. */
const mixed = () =>
  workflowSpec("mixed", { fn: { action: "function" }, act: {}, last: { after: ["fn", "act"] } });

export function codeCases(ctx: SuiteContext): void {
  describe("code ids", () => {
    it("records the code id on the execution and on its function runs only", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(mixed(), {}, { code: "v1code" });
      expect((await ctx.store.getExecution(execution.id))?.code).toBe("v1code");
      const codes = Object.fromEntries(
        (await ctx.store.listRuns(execution.id)).map((run) => [run.task, run.code]),
      );
      expect(codes).toEqual({ fn: "v1code", act: null, last: null, $end: null });
      const plain = await engine.start(mixed(), {});
      expect((await ctx.store.getExecution(plain.execution.id))?.code).toBeNull();
      expect((await ctx.store.listRuns(plain.execution.id)).every((run) => run.code === null)).toBe(true);
    });

    it("leaves runs that need code to claimers that have it", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(mixed(), {}, { code: "v2code" });
      // Without codes, or with other ones, only the action run is claimable.
      const anyone = await engine.claim({ owner: "yaml-worker", limit: 10 });
      expect(anyone.map((run) => run.task)).toEqual(["act"]);
      expect(await engine.claim({ owner: "old-worker", limit: 10, codes: ["v1code"] })).toEqual([]);
      const holder = await engine.claim({ owner: "new-worker", limit: 10, codes: ["v1code", "v2code"] });
      expect(holder.map((run) => [run.task, run.leaseOwner])).toEqual([["fn", "new-worker"]]);
      // Its successor needs no code: whoever is asking takes it.
      await engine.complete(ref(anyone[0]!), 1);
      await engine.complete(ref(holder[0]!), 2);
      const next = await engine.claim({ owner: "yaml-worker", limit: 10, executionId: execution.id });
      expect(next.map((run) => run.task)).toEqual(["last"]);
    });

    it("answers nextRunAfter only for runs the caller could claim (an idle worker must not spin)", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("only-fn", { fn: { action: "function" } });
      const { execution } = await engine.start(spec, {}, { code: "c" });
      expect(await ctx.store.nextRunAfter()).toBeNull();
      expect(await ctx.store.nextRunAfter(execution.id, ["other"])).toBeNull();
      expect(await ctx.store.nextRunAfter(undefined, ["c"])).toBe(ctx.clock.t);
      expect(await ctx.store.nextRunAfter(execution.id, ["c"])).toBe(ctx.clock.t);
    });

    it("filters by code within one execution's runs too (the sync runner)", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(mixed(), {}, { code: "c" });
      const without = await engine.claim({ owner: "r", limit: 10, executionId: execution.id, codes: [] });
      expect(without.map((run) => run.task)).toEqual(["act"]);
      const withCode = await engine.claim({ owner: "r", limit: 10, executionId: execution.id, codes: ["c"] });
      expect(withCode.map((run) => run.task)).toEqual(["fn"]);
    });

    it("registers the same spec with other functions as a new version, and the same again as a no-op", async () => {
      const engine = ctx.engine();
      const spec = mixed();
      const v1 = await engine.registerWorkflow(spec, undefined, "aaaa");
      expect(v1).toMatchObject({ version: 1, code: "aaaa" });
      expect(await engine.registerWorkflow(spec, undefined, "aaaa")).toEqual(v1);
      const v2 = await engine.registerWorkflow(spec, undefined, "bbbb");
      expect(v2).toMatchObject({ version: 2, code: "bbbb" });
      expect(await engine.getWorkflow("mixed", 1)).toEqual(v1);
      expect((await ctx.store.listWorkflows()).find((w) => w.name === "mixed")).toEqual(v2);
      // A pinned version with other functions is a conflict, not a silent replacement.
      const pinned = { ...spec, version: 2 };
      await expect(engine.registerWorkflow(pinned, undefined, "cccc")).rejects.toMatchObject({
        code: "WORKFLOW_VERSION_CONFLICT",
      });
    });
  });
}
