/**
 * The SQLite adapter: the Store conformance suite on a file (with a second connection as a
 * second process) and in memory, then what only a file shared by processes has: migrations,
 * reopening, write-lock contention between stores and between real processes, and the URL.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError, WeftError } from "../../src/shared/errors.js";
import { migrate, MIGRATIONS, SCHEMA_VERSION } from "../../src/stores/sqlite/migrations.js";
import { parseSqliteUrl, SqliteStore } from "../../src/stores/sqlite/sqlite-store.js";
import { drive, engineOn, FakeClock, fanIn, ref, runOf } from "../conformance/fixtures.js";
import { storeConformanceSuite } from "../conformance/store.suite.js";

const dir = mkdtempSync(path.join(tmpdir(), "weft-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => path.join(dir, `db-${++files}.db`);
const here = path.dirname(fileURLToPath(import.meta.url));

storeConformanceSuite("SqliteStore (file)", async () => SqliteStore.open(newFile()), {
  // A second connection on the same file is what a second process would have.
  reopen: async (store) => SqliteStore.open((store as SqliteStore).path),
});
storeConformanceSuite("SqliteStore (:memory:)", async () => SqliteStore.open(":memory:"));

/**
 * Runs one helper process per argument list (see fixtures/sqlite-process.ts), tells them all
 * to go once every one is loaded, and answers their JSON results.
 */
async function processes(argLists: string[][]): Promise<Record<string, number>[]> {
  const script = path.join(here, "fixtures", "sqlite-process.ts");
  const children = argLists.map((args) => spawn(process.execPath, ["--import", "tsx", script, ...args]));
  const outputs = children.map((proc) => {
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const ready = new Promise<void>((resolve) => {
      const check = () => (stdout.startsWith("ready\n") ? resolve() : proc.stdout.once("data", check));
      proc.stdout.once("data", check);
    });
    const done = new Promise<Record<string, number>>((resolve, reject) =>
      proc.on("close", (code) =>
        code === 0
          ? resolve(JSON.parse(stdout.slice("ready\n".length)) as Record<string, number>)
          : reject(new Error(`helper process exited with ${code}: ${stderr}`)),
      ),
    );
    return { ready, done };
  });
  await Promise.all(outputs.map((output) => output.ready));
  for (const proc of children) proc.stdin.write("go\n");
  return Promise.all(outputs.map((output) => output.done));
}

function migrationRows(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT version FROM schema_migrations ORDER BY version").all();
  } finally {
    db.close();
  }
}

describe("SqliteStore", () => {
  it("creates the file's directory and opens it in WAL mode with foreign keys", async () => {
    const file = path.join(dir, "nested", "deeper", "weft.db");
    const store = SqliteStore.open(file);
    expect(store.settings()).toEqual({
      journalMode: "wal",
      synchronous: "normal",
      foreignKeys: true,
      schemaVersion: SCHEMA_VERSION,
    });
    expect(store.capabilities).toEqual({ sharedAcrossProcesses: true, notifications: false });
    await store.close();
    await store.close(); // idempotent
    const full = SqliteStore.fromUrl(`sqlite:${file}?synchronous=full`);
    expect(full.settings().synchronous).toBe("full");
    await full.close();
    const memory = SqliteStore.fromUrl("sqlite::memory:");
    expect(memory.capabilities.sharedAcrossProcesses).toBe(false);
    await memory.close();
  });

  it("says which file it could not open", () => {
    expect(() => SqliteStore.open(dir)).toThrow(expect.objectContaining({ code: "STORE_OPEN_FAILED" }));
    expect(() => SqliteStore.open(dir)).toThrow(dir);
  });

  it("applies the migrations once when two stores open one new file, and never again", async () => {
    const file = newFile();
    const [one, two] = [SqliteStore.open(file), SqliteStore.open(file)];
    await Promise.all([one.close(), two.close()]);
    const reopened = SqliteStore.open(file);
    await reopened.close();
    expect(migrationRows(file)).toEqual(MIGRATIONS.map(({ version }) => ({ version })));
  });

  it("applies the migrations once when four processes open one new file at the same instant", async () => {
    const file = newFile();
    const answers = await processes([1, 2, 3, 4].map(() => ["open", file]));
    expect(answers).toEqual(answers.map(() => ({ schemaVersion: SCHEMA_VERSION })));
    expect(migrationRows(file)).toEqual(MIGRATIONS.map(({ version }) => ({ version })));
  });

  it("migrates a file step by step: each version once, in order", () => {
    const db = new Database(newFile());
    expect(migrate(db, MIGRATIONS.slice(0, 1))).toEqual([1]);
    expect(migrate(db)).toEqual(MIGRATIONS.slice(1).map(({ version }) => version));
    expect(migrate(db)).toEqual([]);
    db.close();
  });

  it("resumes an execution saved under an earlier schema version after migrating the file", async () => {
    const file = newFile();
    const clock = new FakeClock();
    const old = SqliteStore.open(file);
    const { execution } = await engineOn(old, clock).start(fanIn(2), {});
    await old.close();
    // Turn the file back into what schema version 1 wrote: no workflow registry, no origins, no
    // interruption counts, no code ids, no traversals, no parent links, and specs compiled before retry.interruptions existed.
    const db = new Database(file);
    db.exec(
      "DROP TABLE workflows; ALTER TABLE executions DROP COLUMN origin; ALTER TABLE task_runs DROP COLUMN interruptions; " +
        "ALTER TABLE executions DROP COLUMN code; ALTER TABLE task_runs DROP COLUMN code; DROP TABLE traversals; " +
        "ALTER TABLE executions DROP COLUMN base; ALTER TABLE executions DROP COLUMN next_seq; " +
        ["version_key", "reused_from", "target", "undone_at", "superseded_by", "item"]
          .map((column) => `ALTER TABLE task_runs DROP COLUMN ${column}; `)
          .join("") +
        "DROP INDEX executions_by_parent; ALTER TABLE executions DROP COLUMN parent_id; " +
        "ALTER TABLE executions DROP COLUMN parent_seq; ALTER TABLE executions DROP COLUMN parent_attempt; " +
        "ALTER TABLE executions DROP COLUMN parent_traversal; ALTER TABLE executions DROP COLUMN depth; " +
        "DELETE FROM schema_migrations WHERE version > 1",
    );
    const { spec } = db.prepare("SELECT spec FROM executions WHERE id = ?").get(execution.id) as {
      spec: string;
    };
    const oldSpec = JSON.parse(spec) as { tasks: Record<string, { retry: Record<string, unknown> }> };
    for (const task of Object.values(oldSpec.tasks)) delete task.retry.interruptions;
    db.prepare("UPDATE executions SET spec = ? WHERE id = ?").run(JSON.stringify(oldSpec), execution.id);
    db.close();

    const store = SqliteStore.open(file);
    expect(store.settings().schemaVersion).toBe(SCHEMA_VERSION);
    await drive(engineOn(store, clock), execution.id);
    expect(await store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    expect((await engineOn(store, clock).registerWorkflow(fanIn(2))).version).toBe(1);
    await store.close();
  });

  it("refuses a file written by a newer schema", async () => {
    const file = newFile();
    await SqliteStore.open(file).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(
      SCHEMA_VERSION + 1,
      0,
    );
    db.close();
    expect(() => SqliteStore.open(file)).toThrow(expect.objectContaining({ code: "STORE_SCHEMA_TOO_NEW" }));
  });

  it("keeps executions, runs and events when the file is reopened, and carries on from there", async () => {
    const file = newFile();
    const clock = new FakeClock();
    const first = SqliteStore.open(file);
    const { execution } = await engineOn(first, clock).start(fanIn(3), {}, { baseDir: "/here" });
    const [p0] = await engineOn(first, clock).claim({ owner: "w", limit: 1 });
    await engineOn(first, clock).complete(ref(p0!), { kept: true });
    const before = {
      execution: await first.getExecution(execution.id),
      runs: await first.listRuns(execution.id),
      events: await first.listEvents(execution.id),
    };
    await first.close();

    const second = SqliteStore.open(file);
    expect(await second.getExecution(execution.id)).toEqual(before.execution);
    expect(await second.listRuns(execution.id)).toEqual(before.runs);
    expect(await second.listEvents(execution.id)).toEqual(before.events);
    await drive(engineOn(second, clock), execution.id);
    expect(await second.getExecution(execution.id)).toMatchObject({ status: "succeeded", baseDir: "/here" });
    await second.close();
  });

  it("two stores on one file racing completions for one join make it ready exactly once", async () => {
    const file = newFile();
    const [one, two] = [SqliteStore.open(file), SqliteStore.open(file)];
    const clock = new FakeClock();
    const engines = [engineOn(one, clock), engineOn(two, clock)] as const;
    for (let round = 0; round < 40; round++) {
      const { execution } = await engines[round % 2]!.start(fanIn(4), {});
      const preds = await engines[0].claim({ owner: "w", limit: 4, executionId: execution.id });
      const steps = await Promise.all(preds.map((run, i) => engines[(i + round) % 2]!.complete(ref(run), i)));
      expect(steps.flatMap((step) => step.ready).map((run) => run.task)).toEqual(["join"]);
      expect(runOf(await two.listRuns(execution.id), "join")).toMatchObject({ status: "ready", pending: 0 });
    }
    await Promise.all([one.close(), two.close()]);
  });

  it("two processes racing completions for the same joins make each ready exactly once", async () => {
    const file = newFile();
    const store = SqliteStore.open(file);
    const engine = engineOn(store, new FakeClock(Date.now()), { leaseMs: 600_000 });
    const joins = 200;
    const ids: string[] = [];
    for (let i = 0; i < joins; i++) ids.push((await engine.start(fanIn(2), {})).execution.id);
    const claimed = await engine.claim({ owner: "parent", limit: 2 * joins });
    const refsOf = (task: string) => {
      const refsFile = path.join(dir, `refs-${task}-${files}.json`);
      writeFileSync(refsFile, JSON.stringify(claimed.filter((run) => run.task === task).map(ref)));
      return refsFile;
    };
    const answers = await processes(["p0", "p1"].map((task) => ["complete", file, refsOf(task)]));
    expect(answers.map((answer) => answer.applied)).toEqual([joins, joins]);
    expect(answers[0]!.readyJoins! + answers[1]!.readyJoins!).toBe(joins);
    for (const id of ids) expect(runOf(await store.listRuns(id), "join").status).toBe("ready");
    await store.close();
  });

  it("a transaction waits for another store's write lock, and gives up after busyTimeoutMs", async () => {
    const file = newFile();
    const holder = SqliteStore.open(file);
    const patient = SqliteStore.open(file);
    const impatient = SqliteStore.open(file, { busyTimeoutMs: 50 });
    const order: string[] = [];
    const held = holder.transaction(async () => {
      order.push("holder begins");
      await new Promise((resolve) => setTimeout(resolve, 200)); // awaiting inside: the event loop runs on
      order.push("holder commits");
    });
    const waited = patient.transaction(async () => order.push("patient runs"));
    const refused = impatient.transaction(async () => order.push("impatient runs"));
    await expect(refused).rejects.toThrow(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
    await Promise.all([held, waited]);
    expect(order).toEqual(["holder begins", "holder commits", "patient runs"]);
    await Promise.all([holder.close(), patient.close(), impatient.close()]);
  });

  it("enforces foreign keys, refuses a StoreTx used after its transaction, and refuses work once closed", async () => {
    const store = SqliteStore.open(newFile());
    const { execution } = await engineOn(store, new FakeClock()).start(fanIn(1), {});
    const runs = await store.listRuns(execution.id);
    await expect(
      store.transaction(async (tx) => tx.insertRuns(runs.map((run) => ({ ...run, executionId: "missing" })))),
    ).rejects.toThrow(/FOREIGN KEY/);
    const leaked = await store.transaction(async (tx) => tx);
    expect(() => leaked.getRun(execution.id, 0)).toThrow(/after its transaction ended/);
    await store.close();
    await expect(store.transaction(async () => 1)).rejects.toThrow(
      expect.objectContaining({ code: "STORE_CLOSED" }),
    );
  });

  it("claims through the partial index rather than scanning every run", () => {
    const store = SqliteStore.open(newFile());
    const db = new Database(store.path, { readonly: true });
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[])
        .map((row) => row.detail)
        .join("; ");
    const claimable = "FROM task_runs WHERE status IN ('ready', 'retrying') AND run_after <= 1";
    expect(plan(`SELECT rowid ${claimable} ORDER BY run_after, seq LIMIT 5`)).toMatch(
      /task_runs_claimable\b/,
    );
    expect(plan(`SELECT rowid ${claimable} AND execution_id = 'x' ORDER BY run_after, seq LIMIT 5`)).toMatch(
      /task_runs_claimable_by_execution/,
    );
    expect(plan("SELECT * FROM task_runs WHERE status = 'running' AND lease_expires_at < 1")).toMatch(
      /task_runs_lease/,
    );
    db.close();
    return store.close();
  });
});

describe("parseSqliteUrl", () => {
  it.each([
    ["sqlite:.weft/weft.db", { path: ".weft/weft.db", synchronous: "normal" }],
    ["sqlite:/abs/path.db", { path: "/abs/path.db", synchronous: "normal" }],
    ["sqlite:relative.db?synchronous=full", { path: "relative.db", synchronous: "full" }],
    ["sqlite:relative.db?synchronous=NORMAL", { path: "relative.db", synchronous: "normal" }],
    ["sqlite::memory:", { path: ":memory:", synchronous: "normal" }],
    ["SQLite:/abs/path.db", { path: "/abs/path.db", synchronous: "normal" }],
  ])("parses %s", (url, expected) => {
    expect(parseSqliteUrl(url)).toEqual(expected);
  });

  it.each([
    ["postgres://localhost/weft", "does not start"],
    ["sqlite:", "names no database file"],
    ["sqlite:?synchronous=full", "names no database file"],
    ["sqlite://relative.db", "absolute path"],
    ["sqlite:weft.db?synchronous=off", 'synchronous must be "normal" or "full"'],
    ["sqlite:weft.db?mode=ro", 'parameter "mode" is unknown'],
  ])("refuses %s, naming the URL", (url, why) => {
    let error: unknown;
    try {
      parseSqliteUrl(url);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toBeInstanceOf(WeftError);
    expect((error as Error).message).toContain(`"${url}"`);
    expect((error as Error).message).toContain(why);
  });
});
