/**
 * Regression tests for two engine issues that PostgreSQL made visible (both fixed in the engine):
 *
 * 1. Lock order. A transition used to lock the execution row (recording a failure) before the
 *    successors' sync points, so a batch and a single failure sharing a successor could wait for
 *    each other until PostgreSQL's deadlock_timeout (1 s). Failures are now written last.
 * 2. State kept outside a re-runnable transaction. `heartbeat` collected lost runs outside
 *    `store.transaction`, so a transaction re-run after a serialization failure reported a lost
 *    run twice. What a transaction collects now lives inside it.
 */
import { describe, expect, it } from "vitest";
import type { Store, StoreTx } from "../../src/engine/store.js";
import { PostgresStore, type PostgresStoreOptions } from "../../src/stores/postgres/postgres-store.js";
import { engineOn, failure, FakeClock, ref, runOf, workflowSpec } from "../conformance/fixtures.js";
import { usePostgresSchemas } from "../helpers/postgres.js";

const pg = usePostgresSchemas("engine");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `store`, except that the first transaction calling `method` waits for `release()` right
 * after that call answered; `paused` resolves when it is waiting.
 */
function pausingAfter(store: Store, method: "decrementSyncPoints" | "updateRun") {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let onPause!: () => void;
  const paused = new Promise<void>((resolve) => (onPause = resolve));
  let armed = true;
  const wrapped = Object.assign(Object.create(store) as Store, {
    transaction: <T>(fn: (tx: StoreTx) => Promise<T>) =>
      store.transaction((tx) =>
        fn({
          ...tx,
          [method]: async (...args: unknown[]) => {
            const answer = await (tx[method] as (...a: unknown[]) => Promise<unknown>)(...args);
            if (armed) {
              armed = false;
              onPause();
              await gate;
            }
            return answer;
          },
        }),
      ),
  });
  return { store: wrapped, paused, release };
}

async function twoStores(params: Record<string, string> = {}) {
  const retries: string[] = [];
  const options: PostgresStoreOptions = {
    onRetry: (error) => retries.push((error as { code?: string }).code ?? error.message),
  };
  await pg.truncate().catch(() => undefined); // the schema exists once a store opened it
  const one = await PostgresStore.open(pg.url(params), options);
  const two = await PostgresStore.open(pg.url(params), options);
  return { one, two, retries, close: () => Promise.all([one.close(), two.close()]) };
}

describe("engine issues on PostgreSQL", () => {
  it("1. a failure and a batch sharing a successor do not deadlock", async () => {
    const { one, two, retries, close } = await twoStores();
    try {
      const clock = new FakeClock();
      const spec = workflowSpec("shared", {
        a: {},
        b: {},
        c: {},
        j: { after: ["a", "b"], trigger: "all_done" },
      });
      const { execution } = await engineOn(one, clock).start(spec, {});
      const claimed = await engineOn(one, clock).claim({ owner: "w", limit: 3 });
      const pausing = pausingAfter(two, "decrementSyncPoints");
      // The batch completes b (locking j), pauses, then fails c (locking the execution row).
      const batch = engineOn(pausing.store, clock).settle([
        { run: ref(runOf(claimed, "b")), status: "succeeded", output: null },
        { run: ref(runOf(claimed, "c")), status: "failed", error: failure("c broke") },
      ]);
      await pausing.paused;
      // The single failure of a locks the execution row, then waits for j.
      const single = engineOn(one, clock).fail(ref(runOf(claimed, "a")), failure("a broke"));
      await sleep(100);
      pausing.release();
      const started = Date.now();
      await Promise.all([batch, single]);
      expect(runOf(await one.listRuns(execution.id), "j").status).toBe("ready");
      expect({ retries, stalled: Date.now() - started >= 900 }).toEqual({ retries: [], stalled: false });
    } finally {
      await close();
    }
  });

  it("2. a heartbeat that ran again reports each lost run once", async () => {
    const { one, two, retries, close } = await twoStores({ isolation: "repeatable_read" });
    try {
      const clock = new FakeClock();
      const engine = engineOn(one, clock);
      await engine.start(workflowSpec("pair", { x: {}, y: {} }), {});
      const [x, y] = await engine.claim({ owner: "w", limit: 2 });
      await engine.complete(ref(x!), null); // x is no longer the worker's: lost
      const pausing = pausingAfter(two, "updateRun");
      // The heartbeat finds x lost (its snapshot now taken) and pauses; y's lease changes meanwhile.
      const beat = engineOn(pausing.store, clock).heartbeat([ref(x!), ref(y!)]);
      await pausing.paused;
      await engine.heartbeat([ref(y!)]);
      pausing.release();
      const lost = await beat;
      expect(retries).toEqual(["40001"]); // the heartbeat did run again
      expect(lost).toEqual([ref(x!)]);
    } finally {
      await close();
    }
  });
});
