/**
 * The PostgreSQL adapter: the Store conformance suite (with a second pool as a second process),
 * then what only a shared server has: migrations raced by several openers, transactions run
 * again after serialization failures, statements the function swallowed, JSON kept exactly,
 * event ids in commit order, the claim index, and `openStore`. Wake-ups are in
 * postgres-notify.test.ts, URLs in postgres-url.test.ts, the big join race in postgres-races.test.ts.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EventType } from "../../src/engine/store.js";
import { openStore } from "../../src/runtime/open-store.js";
import { InvalidInputError } from "../../src/shared/errors.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/stores/postgres/migrations.js";
import { PostgresStore } from "../../src/stores/postgres/postgres-store.js";
import { diamond, engineOn, FakeClock, ref, workflowSpec } from "../conformance/fixtures.js";
import { storeConformanceSuite } from "../conformance/store.suite.js";
import { usePostgresSchemas } from "../helpers/postgres.js";

const pg = usePostgresSchemas("store");

storeConformanceSuite(
  "PostgresStore",
  async () => {
    const store = await PostgresStore.open(pg.url());
    await pg.truncate();
    return store;
  },
  { reopen: async () => PostgresStore.open(pg.url()) },
);

/** A promise and the function that resolves it: lets a test hold a transaction open. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("PostgresStore", () => {
  it("answers its capabilities and the settings of its URL, and refuses work once closed", async () => {
    const store = await PostgresStore.open(pg.url({ isolation: "serializable", pool: 3, poll: 250 }));
    expect(store.capabilities).toEqual({ sharedAcrossProcesses: true, notifications: true });
    expect(store.settings).toMatchObject({
      schema: pg.schema,
      isolation: "serializable",
      pool: 3,
      pollMs: 250,
    });
    expect(store.pollMs).toBe(250);
    await store.close();
    await store.close(); // idempotent
    await expect(store.transaction(async () => 1)).rejects.toThrow(
      expect.objectContaining({ code: "STORE_CLOSED" }),
    );
  });

  it("applies the migrations once when five stores open a fresh schema at once", async () => {
    const schema = pg.fresh("migrate");
    const stores = await Promise.all([1, 2, 3, 4, 5].map(() => PostgresStore.open(pg.url({}, schema))));
    await Promise.all(stores.map((store) => store.close()));
    await (await PostgresStore.open(pg.url({}, schema))).close();
    expect(await pg.sql(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`)).toEqual(
      MIGRATIONS.map(({ version }) => ({ version })),
    );
    const tables = await pg.sql<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
      [schema],
    );
    expect(tables.map((row) => row.tablename)).toEqual([
      "events",
      "executions",
      "schema_migrations",
      "task_runs",
      "traversals",
      "workflows",
    ]);
  });

  it("refuses a schema written by a newer Weft", async () => {
    const schema = pg.fresh("newer");
    await (await PostgresStore.open(pg.url({}, schema))).close();
    await pg.sql(`INSERT INTO "${schema}".schema_migrations (version, applied_at) VALUES ($1, 0)`, [
      SCHEMA_VERSION + 1,
    ]);
    await expect(PostgresStore.open(pg.url({}, schema))).rejects.toThrow(
      expect.objectContaining({ code: "STORE_SCHEMA_TOO_NEW" }),
    );
  });

  it("says which server it could not reach, hiding the password, and refuses a bad URL before connecting", async () => {
    const error = (await PostgresStore.open("postgres://weft:s3cret@127.0.0.1:1/weft").catch(
      (e) => e,
    )) as Error;
    // Nothing listens there: an outage (long-lived processes wait for it), named with the URL.
    expect(error).toMatchObject({ code: "STORE_UNAVAILABLE" });
    expect(error.message).toContain(
      "postgres://weft:***@127.0.0.1:1/weft is unavailable: cannot reach the server",
    );
    expect(error.message).not.toContain("s3cret");
    await expect(PostgresStore.open(pg.url({ pool: 0 }))).rejects.toThrow(InvalidInputError);
  });

  it("runs a transaction again, from the start, when a concurrent one made it fail to serialize", async () => {
    const codes: string[] = [];
    const url = pg.url({ isolation: "repeatable_read" });
    const one = await PostgresStore.open(url);
    const two = await PostgresStore.open(url, {
      onRetry: (error) => codes.push((error as { code?: string }).code!),
    });
    try {
      await pg.truncate();
      const { execution } = await engineOn(one, new FakeClock()).start(diamond(), {});
      const updated = gate();
      const hold = gate();
      const first = one.transaction(async (tx) => {
        await tx.recordFailure(execution.id, { type: "First", message: "first" });
        updated.open();
        await hold.opened;
      });
      await updated.opened;
      let runs = 0;
      const second = two.transaction(async (tx) => {
        runs += 1;
        await tx.recordFailure(execution.id, { type: "Second", message: "second" }); // waits for the row lock
        return runs;
      });
      await sleep(100);
      hold.open();
      await first;
      expect(await second).toBe(2);
      expect(codes).toEqual(["40001"]);
      expect(await one.getExecution(execution.id)).toMatchObject({ failures: 2, error: { type: "First" } });
    } finally {
      await Promise.all([two.close(), one.close()]);
    }
  });

  it("rolls back any other error once, and never commits after a statement the function swallowed", async () => {
    const store = await PostgresStore.open(pg.url(), { onRetry: () => expect.fail("nothing to retry") });
    try {
      await pg.truncate();
      const { execution } = await engineOn(store, new FakeClock()).start(diamond(), {});
      let runs = 0;
      const thrown = store.transaction(async (tx) => {
        runs += 1;
        await tx.recordFailure(execution.id, { type: "E", message: "rolled back" });
        throw new Error("boom");
      });
      await expect(thrown).rejects.toThrow("boom");
      expect(runs).toBe(1);
      // The duplicate insert aborts the transaction in PostgreSQL; a COMMIT would quietly roll back.
      const swallowed = store.transaction(async (tx) => {
        await tx.recordFailure(execution.id, { type: "E", message: "rolled back" });
        await Promise.resolve(tx.insertExecution(execution)).catch(() => undefined);
        return "carried on";
      });
      await expect(swallowed).rejects.toThrow(/duplicate key/);
      expect(await store.getExecution(execution.id)).toMatchObject({ failures: 0, error: null });
      const leaked = await store.transaction(async (tx) => tx);
      await expect(leaked.getRun(execution.id, 0)).rejects.toThrow(/after its transaction ended/);
    } finally {
      await store.close();
    }
  });

  it("fails only the transaction whose connection dropped, and carries on with a new one", async () => {
    const name = `weft-drop-${randomBytes(4).toString("hex")}`;
    const store = await PostgresStore.open(pg.url({ pool: 1 }), { applicationName: name });
    try {
      await pg.truncate();
      const { execution } = await engineOn(store, new FakeClock()).start(diamond(), {});
      const began = gate();
      const hold = gate();
      const doomed = store.transaction(async (tx) => {
        await tx.recordFailure(execution.id, { type: "E", message: "lost with its connection" });
        began.open();
        await hold.opened;
        return tx.getRun(execution.id, 0);
      });
      await began.opened;
      await pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
        name,
      ]);
      await sleep(50);
      hold.open();
      await expect(doomed).rejects.toThrow();
      expect(await store.getExecution(execution.id)).toMatchObject({ failures: 0 });
      expect(await store.transaction(async (tx) => (await tx.getRun(execution.id, 0))?.task)).toBe("a");
    } finally {
      await store.close();
    }
  });

  it("gives JSON back exactly as written, so specs and outputs compare equal as text", async () => {
    const store = await PostgresStore.open(pg.url());
    try {
      await pg.truncate();
      const engine = engineOn(store, new FakeClock());
      // jsonb would sort these keys (shorter first): the engine compares JSON text.
      const spec = workflowSpec("ordered", { zeta: {}, alpha: { after: ["zeta"] } }, { version: 1 });
      const first = await engine.registerWorkflow(spec);
      expect(await engine.registerWorkflow(spec)).toEqual(first);
      expect(JSON.stringify((await store.listWorkflows())[0]!.spec)).toBe(JSON.stringify(spec));
      const { execution } = await engine.start(spec, {});
      const [zeta] = await engine.claim({ owner: "w", limit: 1 });
      const output = { zeta: 1, alpha: { list: [3, { y: "é", x: null }], empty: {} }, "": "" };
      await engine.complete(ref(zeta!), output);
      const runs = await store.listRuns(execution.id);
      expect(JSON.stringify(runs.find((run) => run.task === "zeta")!.output)).toBe(JSON.stringify(output));
    } finally {
      await store.close();
    }
  });

  it("numbers an execution's events in commit order, so paging with afterId skips none", async () => {
    const one = await PostgresStore.open(pg.url());
    const two = await PostgresStore.open(pg.url());
    try {
      await pg.truncate();
      const engine = engineOn(one, new FakeClock());
      const { execution } = await engine.start(diamond(), {});
      const other = await engine.start(diamond(), {});
      const event = (executionId: string, task: string) => ({
        executionId,
        at: 1,
        type: EventType.taskStarted,
        task,
      });
      const appended = gate();
      const hold = gate();
      const first = one.transaction(async (tx) => {
        await tx.appendEvents([event(execution.id, "first")]);
        appended.open();
        await hold.opened;
      });
      await appended.opened;
      let secondDone = false;
      const second = two.transaction(async (tx) => tx.appendEvents([event(execution.id, "second")]));
      void second.then(() => (secondDone = true));
      // Another execution's events do not wait.
      await two.transaction(async (tx) => tx.appendEvents([event(other.execution.id, "elsewhere")]));
      await sleep(100);
      expect(secondDone).toBe(false);
      hold.open();
      await Promise.all([first, second]);
      const events = await one.listEvents(execution.id);
      expect(events.slice(-2).map((e) => e.task)).toEqual(["first", "second"]);
      expect(events[events.length - 1]!.id).toBeGreaterThan(events[events.length - 2]!.id!);
    } finally {
      await Promise.all([two.close(), one.close()]);
    }
  });

  it("claims and reaps through the partial indexes", async () => {
    await (await PostgresStore.open(pg.url())).close();
    const claimable = "FROM task_runs WHERE status IN ('ready', 'retrying') AND run_after <= 1";
    expect(await pg.explain(`SELECT seq ${claimable} ORDER BY run_after, seq LIMIT 5`)).toMatch(
      /task_runs_claimable\b/,
    );
    expect(
      await pg.explain(`SELECT seq ${claimable} AND execution_id = 'x' ORDER BY run_after, seq LIMIT 5`),
    ).toMatch(/task_runs_claimable_by_execution/);
    expect(
      await pg.explain("SELECT * FROM task_runs WHERE status = 'running' AND lease_expires_at < 1"),
    ).toMatch(/task_runs_lease/);
  });

  it("is what openStore answers for postgres:// and postgresql:// URLs", async () => {
    for (const url of [pg.url(), pg.url().replace(/^postgres:/, "postgresql:")]) {
      const store = await openStore(url);
      expect(store).toBeInstanceOf(PostgresStore);
      expect((store as PostgresStore).settings.schema).toBe(pg.schema);
      await store.close();
    }
  });
});
