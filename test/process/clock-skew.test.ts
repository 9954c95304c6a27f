/**
 * Clock skew between hosts is harmless: leases, deadlines and runAfter are compared in the
 * PostgreSQL server's time. Two real `weft worker` processes share long tasks; one runs under
 * libfaketime with its clock 45 s ahead, more than the 30 s lease, so that judged by its own
 * clock every lease of the other has expired. It must not reap them.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import type { Store } from "../../src/engine/store.js";
import { openStore } from "../../src/runtime/open-store.js";
import { waitFor, WEFT_BIN } from "../helpers/cli.js";
import { effectsDag, pgFixture, type PgFixture } from "./pg-fixture.js";

const SKEW = "+45s";
// Timers (the monotonic clock) stay true: only the wall clock is off, as on a badly set host.
const FAKETIME_ENV = { FAKETIME_DONT_FAKE_MONOTONIC: "1" };

let fixture: PgFixture;
let store: Store;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  fixture = await pgFixture("skew");
  store = await openStore(fixture.url);
});

afterAll(async () => {
  const exited = [...children].map((child) => new Promise((resolve) => child.once("exit", resolve)));
  for (const child of children) child.kill("SIGKILL");
  await Promise.all(exited);
  await store?.close();
  await fixture?.drop();
});

/** `weft worker` on the fixture's store, under `faketime SKEW` when `skewed`. */
function startWorker(skewed: boolean): ChildProcess {
  const args = [WEFT_BIN, "worker", "--store", fixture.url, "--concurrency", "3", "--quiet"];
  const child = skewed
    ? spawn("faketime", ["-f", SKEW, process.execPath, ...args], {
        env: { ...process.env, ...FAKETIME_ENV },
        stdio: "ignore",
      })
    : spawn(process.execPath, args, { stdio: "ignore" });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

async function sideEffects(ids: readonly string[]): Promise<{ task: string; pid: number }[]> {
  const result = await fixture.client.query<{ execution_id: string; pid: number }>(
    `SELECT execution_id, pid FROM ${fixture.schema}.side_effects WHERE execution_id = ANY($1)`,
    [ids],
  );
  return result.rows.map((row) => ({ task: row.execution_id, pid: row.pid }));
}

describe("clock skew between workers on PostgreSQL (real processes, libfaketime)", () => {
  it("a worker whose clock is 45 s ahead does not reap the healthy leases of another: every body runs once", async () => {
    // The skew is real, or this test proves nothing.
    let skewedNow: number;
    try {
      skewedNow = Number(
        execFileSync("faketime", ["-f", SKEW, process.execPath, "-e", "console.log(Date.now())"], {
          env: { ...process.env, ...FAKETIME_ENV },
        }).toString(),
      );
    } catch (error) {
      throw new Error("faketime is needed for this test: apt-get install -y faketime", { cause: error });
    }
    expect(skewedNow - Date.now()).toBeGreaterThan(40_000);

    const engine = new Engine(store);
    const spec = effectsDag(fixture, "long", 1, 4000);
    await engine.registerWorkflow(spec);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await engine.start(spec, {})).execution.id);

    const steady = startWorker(false);
    // The steady worker holds three running tasks (its concurrency) before the skewed one starts,
    // which reaps at once and then every second while both work.
    await waitFor(async () => (await sideEffects(ids)).length >= 3, 30_000, "the steady worker's tasks");
    startWorker(true);
    await waitFor(
      async () => {
        const executions = await Promise.all(ids.map((id) => store.getExecution(id)));
        return executions.every((e) => e && ["succeeded", "failed", "cancelled"].includes(e.status));
      },
      60_000,
      "the executions to end",
    );
    const exits = [...children].map((child) => new Promise((resolve) => child.on("exit", resolve)));
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(exits);

    for (const id of ids) expect((await store.getExecution(id))!.status).toBe("succeeded");
    const effects = await sideEffects(ids);
    // Each body ran once, and both workers ran some (faketime runs the skewed one as its child).
    expect(effects.map((effect) => effect.task).sort()).toEqual([...ids].sort());
    const pids = new Set(effects.map((effect) => effect.pid));
    expect(pids.size).toBe(2);
    expect(pids.has(steady.pid!)).toBe(true);
    for (const id of ids) {
      const events = await store.listEvents(id);
      expect(events.filter((event) => event.type === "lease:expired")).toEqual([]);
    }
  }, 120_000);
});
