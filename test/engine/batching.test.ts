/**
 * What a transaction costs in store calls: settling a worker's batch calls the store a constant
 * number of times, whatever the batch's size (each call is a round trip on PostgreSQL). Counted
 * on a real MemoryStore whose StoreTx methods are wrapped, nothing mocked.
 */
import { describe, expect, it } from "vitest";
import type { Outcome } from "../../src/engine/engine.js";
import type { Store, StoreTx } from "../../src/engine/store.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { engineOn, failure, FakeClock, fanIn, ref, workflowSpec } from "../conformance/fixtures.js";

/** A MemoryStore counting the StoreTx calls of its transactions, by method. */
function countingStore(): { store: Store; calls: Map<string, number> } {
  const inner = new MemoryStore();
  const calls = new Map<string, number>();
  const store = Object.assign(Object.create(inner) as Store, {
    transaction: <T>(fn: (tx: StoreTx) => Promise<T>) =>
      inner.transaction((tx) =>
        fn(
          new Proxy(tx, {
            get(target, name, receiver) {
              const value = Reflect.get(target, name, receiver) as unknown;
              if (typeof value !== "function") return value;
              return (...args: unknown[]) => {
                calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
                return (value as (...a: unknown[]) => unknown).apply(target, args);
              };
            },
          }),
        ),
      ),
  });
  return { store, calls };
}

describe("store calls per transaction", () => {
  it("settles a batch with the same few calls whatever its size", async () => {
    for (const size of [4, 40]) {
      const { store, calls } = countingStore();
      const engine = engineOn(store, new FakeClock());
      // Each of `size` roots ends; a third fail (retried or failed), all feed one join.
      const tasks: Record<string, { after?: string[]; retry?: { attempts: number } }> = {};
      const names = Array.from({ length: size }, (_, i) => `p${i}`);
      names.forEach((name, i) => (tasks[name] = i % 6 === 0 ? { retry: { attempts: 2 } } : {}));
      tasks.join = { after: names };
      tasks.next = { after: ["join"] };
      await engine.start(workflowSpec("batch", tasks), {});
      const claimed = await engine.claim({ owner: "w", limit: size });
      calls.clear();
      const outcomes = claimed.map((run, i): Outcome =>
        i % 3 === 0
          ? { run: ref(run), status: "failed", error: failure(`p${i} broke`, true) }
          : { run: ref(run), status: "succeeded", output: i },
      );
      const step = await engine.settle(outcomes, { owner: "w", limit: 10 });
      expect(step.applied).toBe(size);
      expect(Object.fromEntries(calls)).toEqual({
        getRunsByKey: 1,
        updateRuns: 1,
        decrementSyncPoints: 1,
        recordFailure: 1,
        claimRuns: 1,
        appendEvents: 1,
      });
    }
  });

  it("propagates skips in waves: two calls per wave, one failure write per execution", async () => {
    const { store, calls } = countingStore();
    const engine = engineOn(store, new FakeClock());
    const tasks: Record<string, { after?: string[] }> = { a: {}, b: {} };
    for (let i = 0; i < 20; i++) tasks[`s${i}`] = { after: ["a"] };
    for (let i = 0; i < 20; i++) tasks[`t${i}`] = { after: [`s${i}`, "b"] };
    await engine.start(workflowSpec("waves", tasks), {});
    const claimed = await engine.claim({ owner: "w", limit: 2 });
    calls.clear();
    await engine.settle(
      claimed.map((run) => ({ run: ref(run), status: "failed", error: failure(`${run.task} broke`) })),
    );
    // Wave 1: a and b end; the s are skipped. Wave 2: the s end; the t are skipped. Wave 3:
    // the t end and the execution's end resolves.
    expect(calls.get("decrementSyncPoints")).toBe(3);
    expect(calls.get("updateRuns")).toBe(1 + 2); // the reports, then the skips of two waves
    expect(calls.get("recordFailure")).toBe(1); // two failures, one call
    expect(calls.get("updateRun")).toBe(1); // the end run, marked once
  });

  it("keeps the fan-in's join decided once when its predecessors end in one batch", async () => {
    const { store } = countingStore();
    const engine = engineOn(store, new FakeClock());
    const { execution } = await engine.start(fanIn(30), {});
    const claimed = await engine.claim({ owner: "w", limit: 30 });
    const step = await engine.settle(
      claimed.map((run) => ({ run: ref(run), status: "succeeded", output: null })),
    );
    expect(step.ready.map((run) => run.task)).toEqual(["join"]);
    const join = (await store.listRuns(execution.id)).find((run) => run.task === "join");
    expect(join).toMatchObject({ status: "ready", pending: 0 });
  });
});
