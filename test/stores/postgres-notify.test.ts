/**
 * Wake-ups across processes: a transaction that makes runs claimable notifies on commit, and
 * `subscribe` hears it on a LISTEN connection of its own, which comes back after it drops.
 * Each store here is a separate pool, as another process would be.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { PostgresStore, type PostgresStoreOptions } from "../../src/stores/postgres/postgres-store.js";
import { diamond, engineOn, failure, FakeClock, ref, workflowSpec } from "../conformance/fixtures.js";
import { usePostgresSchemas } from "../helpers/postgres.js";

const pg = usePostgresSchemas("notify");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A listener that counts its calls, and a way to wait for the n-th one. */
function wakeCounter() {
  let count = 0;
  return {
    listener: () => void (count += 1),
    get count() {
      return count;
    },
    /** Resolves once `n` calls came, or fails after `ms`. */
    async reached(n: number, ms = 1000): Promise<void> {
      const deadline = Date.now() + ms;
      while (count < n) {
        if (Date.now() > deadline) throw new Error(`${count} wake-ups within ${ms} ms, expected ${n}`);
        await sleep(5);
      }
    },
  };
}

let stores: PostgresStore[] = [];
async function open(url = pg.url(), options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open(url, options);
  stores.push(store);
  return store;
}
afterEach(async () => {
  await Promise.all(stores.map((store) => store.close()));
  stores = [];
});

/** How many LISTEN connections of `applicationName` the server holds. */
async function listenerBackends(applicationName: string): Promise<number> {
  const rows = await pg.sql("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [
    `${applicationName} listener`,
  ]);
  return rows.length;
}

describe("PostgresStore wake-ups", () => {
  it("wakes a subscriber when another store's transaction makes runs claimable, once it commits", async () => {
    const listening = await open();
    const engine = engineOn(await open(), new FakeClock());
    const wakes = wakeCounter();
    const unsubscribe = listening.subscribe(wakes.listener);
    // Connecting wakes once: anything notified before LISTEN took effect would be lost.
    await wakes.reached(1);

    const { execution } = await engine.start(diamond(), {}); // a is ready
    await wakes.reached(2);
    const [a] = await engine.claim({ owner: "w", limit: 1 }); // makes nothing claimable
    await engine.complete(ref(a!), null); // b and c become ready
    await wakes.reached(3);

    // Rolled back: the notification is dropped with everything else.
    const runs = await listening.listRuns(execution.id);
    const rolledBack = listening.transaction(async (tx) => {
      await tx.insertExecution({ ...execution, id: "doomed" });
      await tx.insertRuns(runs.map((run) => ({ ...run, executionId: "doomed", status: "ready" })));
      throw new Error("boom");
    });
    await expect(rolledBack).rejects.toThrow("boom");
    await sleep(200);
    expect(wakes.count).toBe(3);
    unsubscribe();
  });

  it("wakes when a failed attempt is to be retried, and not for other schemas", async () => {
    const listening = await open();
    const elsewhere = engineOn(await open(pg.url({}, pg.fresh("elsewhere"))), new FakeClock());
    const engine = engineOn(await open(), new FakeClock());
    const wakes = wakeCounter();
    listening.subscribe(wakes.listener);
    await wakes.reached(1);
    await elsewhere.start(diamond(), {});
    await sleep(200);
    expect(wakes.count).toBe(1);

    await engine.start(workflowSpec("flaky", { t: { retry: { attempts: 2, backoff: 0 } } }), {});
    await wakes.reached(2);
    const [t] = await engine.claim({ owner: "w", limit: 1 });
    await engine.fail(ref(t!), failure("flaky", true)); // retrying
    await wakes.reached(3);
  });

  it("listens again after its connection drops, and the last unsubscribe ends it", async () => {
    const name = `weft-notify-${randomBytes(4).toString("hex")}`;
    const errors: Error[] = [];
    const listening = await open(pg.url(), { applicationName: name, onError: (error) => errors.push(error) });
    const engine = engineOn(await open(), new FakeClock());
    const wakes = wakeCounter();
    const other = wakeCounter();
    const unsubscribe = listening.subscribe(wakes.listener);
    const unsubscribeOther = listening.subscribe(other.listener);
    await wakes.reached(1);
    expect(await listenerBackends(name)).toBe(1); // one connection for every subscriber

    await pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
      `${name} listener`,
    ]);
    await wakes.reached(2, 3000); // reconnected: a wake, as notifications may have been missed
    expect(errors.length).toBeGreaterThan(0);
    await engine.start(diamond(), {});
    await wakes.reached(3);
    await other.reached(3);

    unsubscribe();
    expect(await listenerBackends(name)).toBe(1);
    unsubscribeOther();
    for (let tries = 0; (await listenerBackends(name)) > 0; tries++) {
      if (tries > 100) throw new Error("the LISTEN connection outlived its last subscriber");
      await sleep(10);
    }
    await engine.start(diamond(), {});
    await sleep(200);
    expect([wakes.count, other.count]).toEqual([3, 3]);
  });

  it("closing the store ends its LISTEN connection; subscribing afterwards does nothing", async () => {
    const name = `weft-notify-${randomBytes(4).toString("hex")}`;
    const store = await open(pg.url(), { applicationName: name });
    const wakes = wakeCounter();
    store.subscribe(wakes.listener);
    await wakes.reached(1);
    await store.close();
    expect(await listenerBackends(name)).toBe(0);
    const unsubscribe = store.subscribe(wakes.listener);
    unsubscribe();
    expect(await listenerBackends(name)).toBe(0);
  });
});
