/**
 * What living executions need of a store: seqs allocated atomically (two transactions never
 * get the same), traversal rows kept with their definition and input, and versions found by
 * their key while they are live.
 */
import { describe, expect, it } from "vitest";
import type { TraversalRecord } from "../../src/engine/store.js";
import { ref, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

export function traversalCases(ctx: SuiteContext): void {
  describe("traversal records", () => {
    it("allocates fresh seqs after the layout, never the same twice, even from concurrent transactions", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(workflowSpec("seqs", { a: {}, b: { after: ["a"] } }), {});
      // Two tasks: seqs 0-1, the end 2, the undos 3-4 and their end 5.
      expect((await ctx.store.getExecution(execution.id))?.nextSeq).toBe(6);
      const first = await ctx.store.transaction(async (tx) => tx.allocateSeqs(execution.id, 3));
      expect(first).toBe(6);
      const stores = ctx.reopen ? [ctx.store, await ctx.reopen(ctx.store)] : [ctx.store];
      if (stores[1]) ctx.closeLater(stores[1]);
      const firsts = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          stores[i % stores.length]!.transaction(async (tx) => tx.allocateSeqs(execution.id, 2)),
        ),
      );
      expect([...firsts].sort((a, b) => a - b)).toEqual([9, 11, 13, 15, 17, 19, 21, 23]);
      expect((await ctx.store.getExecution(execution.id))?.nextSeq).toBe(25);
    });

    it("keeps traversals with their definition and input, in order, and patches their status", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("kept", { a: {} });
      const { execution } = await engine.start(spec, {});
      expect(await ctx.store.listTraversals(execution.id)).toEqual([]);
      const second: TraversalRecord = {
        executionId: execution.id,
        id: "t2",
        number: 2,
        cause: "update",
        spec: workflowSpec("kept", { a: {}, b: {} }),
        input: { n: 2 },
        base: 6,
        status: "running",
        rollbackOnFailure: true,
        createdAt: ctx.clock.t,
        finishedAt: null,
      };
      const first: TraversalRecord = {
        ...second,
        id: execution.traversal,
        number: 1,
        cause: "start",
        spec,
        input: { n: 1 },
        base: 0,
        rollbackOnFailure: false,
      };
      await ctx.store.transaction(async (tx) => {
        await tx.insertTraversal(second);
        await tx.insertTraversal(first);
        await tx.updateTraversal(execution.id, execution.traversal, { status: "superseded", finishedAt: 7 });
      });
      const listed = await ctx.store.listTraversals(execution.id);
      expect(listed).toEqual([{ ...first, status: "superseded", finishedAt: 7 }, second]);
      expect(await ctx.store.transaction(async (tx) => tx.listTraversals(execution.id))).toEqual(listed);
    });

    it("finds a live version by its key: a succeeded body, not a reuse, not undone", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(workflowSpec("versions", { a: {} }), {});
      const [a] = await engine.claim({ owner: "w", limit: 1 });
      await engine.complete(ref(a!), { made: 1 });
      expect(await ctx.store.findVersion(execution.id, "a", "k1")).toBeUndefined();
      const guard = {
        executionId: execution.id,
        seq: 0,
        status: ["succeeded" as const],
        traversal: a!.traversal,
      };
      await ctx.store.transaction(async (tx) => tx.updateRun(guard, { versionKey: "k1" }));
      expect((await ctx.store.findVersion(execution.id, "a", "k1"))?.output).toEqual({ made: 1 });
      expect(await ctx.store.findVersion(execution.id, "b", "k1")).toBeUndefined();
      await ctx.store.transaction(async (tx) => tx.updateRun(guard, { reusedFrom: 3 }));
      expect(await ctx.store.findVersion(execution.id, "a", "k1")).toBeUndefined();
      await ctx.store.transaction(async (tx) => tx.updateRun(guard, { reusedFrom: null, undoneAt: 5 }));
      expect(await ctx.store.findVersion(execution.id, "a", "k1")).toBeUndefined();
      const run = (await ctx.store.getRuns(execution.id, [0]))[0]!;
      expect([run.versionKey, run.reusedFrom, run.undoneAt, run.target]).toEqual(["k1", null, 5, null]);
    });
  });
}
