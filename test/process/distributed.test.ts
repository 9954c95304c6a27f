/**
 * Many `weft worker` processes on one PostgreSQL database, as real processes: sharing work,
 * killed with SIGKILL, frozen with SIGSTOP. Task bodies count their side effects in a table.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RetryOptions } from "../../src/definition/builder.js";
import { Engine } from "../../src/engine/engine.js";
import type { Store } from "../../src/engine/store.js";
import { openStore } from "../../src/runtime/open-store.js";
import { startWeft, waitFor } from "../helpers/cli.js";
import { effectsDag, pgFixture, type PgFixture } from "./pg-fixture.js";

let fixture: PgFixture;
let store: Store;
let engine: Engine;
const workers = new Set<ChildProcess>();

beforeAll(async () => {
  fixture = await pgFixture("procs");
  store = await openStore(fixture.url);
  engine = new Engine(store);
});

afterAll(async () => {
  for (const child of workers) child.kill("SIGKILL");
  await store?.close();
  await fixture?.drop();
});

function startWorker(lease = "30s", grace = "30s"): ChildProcess {
  const { child } = startWeft(
    ["worker", "--store", fixture.url, "--concurrency", "8", "--lease", lease, "--grace", grace, "--quiet"],
    {
      cwd: process.cwd(),
    },
  );
  workers.add(child);
  child.on("exit", () => workers.delete(child));
  return child;
}

async function stopWorkers(): Promise<void> {
  const exits = [...workers].map((child) => new Promise((resolve) => child.on("exit", resolve)));
  for (const child of workers) child.kill("SIGTERM");
  await Promise.all(exits);
}

async function startMany(
  name: string,
  count: number,
  tasks: number,
  sleepMs: number,
  retry: RetryOptions = {},
): Promise<string[]> {
  const spec = effectsDag(fixture, name, tasks, sleepMs, retry);
  await engine.registerWorkflow(spec);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await engine.start(spec, {})).execution.id);
  return ids;
}

async function statuses(ids: readonly string[]): Promise<Map<string, string>> {
  const all = await store.listExecutions({ limit: 10_000 });
  const wanted = new Set(ids);
  return new Map(all.filter((e) => wanted.has(e.id)).map((e) => [e.id, e.status]));
}

async function allEnded(ids: readonly string[]): Promise<boolean> {
  const current = await statuses(ids);
  return [...current.values()].every((status) => ["succeeded", "failed", "cancelled"].includes(status));
}

/** Side effects per "execution/task". */
async function sideEffects(ids: readonly string[]): Promise<Map<string, number>> {
  const result = await fixture.client.query<{ key: string; n: string }>(
    `SELECT execution_id || '/' || task AS key, count(*) AS n FROM ${fixture.schema}.side_effects WHERE execution_id = ANY($1) GROUP BY 1`,
    [ids],
  );
  return new Map(result.rows.map((row) => [row.key, Number(row.n)]));
}

describe("distributed workers on PostgreSQL (real processes)", () => {
  it("4 workers share 200 executions of a 50-task DAG: all succeed, each body runs once", async () => {
    const ids = await startMany("dag50", 200, 50, 0);
    for (let i = 0; i < 4; i++) startWorker();
    await waitFor(() => allEnded(ids), 240_000, "200 executions to end");
    await stopWorkers();
    expect([...(await statuses(ids)).values()].every((status) => status === "succeeded")).toBe(true);
    const effects = await sideEffects(ids);
    expect(effects.size).toBe(200 * 50);
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
    // More than one worker did the work.
    const pids = await fixture.client.query(
      `SELECT count(DISTINCT pid) AS n FROM ${fixture.schema}.side_effects WHERE execution_id = ANY($1)`,
      [ids],
    );
    expect(Number(pids.rows[0].n)).toBeGreaterThan(1);
  }, 300_000);

  it("chaos: workers killed with SIGKILL every 1-2 s and replaced; every execution succeeds, no completion applied twice", async () => {
    // One attempt per task: only interruptions may repeat a body. Their bound is far above what
    // the kills can cause, so that no task fails by bad luck (the bound is tested elsewhere).
    const ids = await startMany("chaos", 300, 10, 40, { attempts: 1, interruptions: 50 });
    for (let i = 0; i < 3; i++) startWorker("2s");
    let kills = 0;
    let running = true;
    const chaos = (async () => {
      while (running) {
        await new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 1000));
        if (!running) break;
        const victims = [...workers];
        const victim = victims[Math.floor(Math.random() * victims.length)];
        if (victim) {
          victim.kill("SIGKILL");
          kills += 1;
          startWorker("2s");
        }
      }
    })();
    await waitFor(() => allEnded(ids), 300_000, "300 executions to end");
    running = false;
    await chaos;
    await stopWorkers();
    expect(kills).toBeGreaterThan(3);
    expect([...(await statuses(ids)).values()].every((status) => status === "succeeded")).toBe(true);

    const effects = await sideEffects(ids);
    let interrupted = 0;
    for (const id of ids) {
      const runs = await store.listRuns(id);
      // Nothing is left running or ready.
      expect(
        runs.filter((run) => ["running", "ready", "retrying", "blocked", "waiting"].includes(run.status)),
      ).toEqual([]);
      const events = await store.listEvents(id);
      for (const run of runs.filter((r) => r.kind === "task")) {
        // Applied once: one success in the history, whatever the attempts.
        expect(events.filter((e) => e.type === "task:succeeded" && e.task === run.task)).toHaveLength(1);
        const ranTimes = effects.get(`${id}/${run.task}`) ?? 0;
        expect(ranTimes).toBeGreaterThanOrEqual(1);
        const expired = events.filter((e) => e.type === "lease:expired" && e.task === run.task);
        // Every body that ran more than once had its earlier attempt interrupted, and the history says so.
        if (ranTimes > 1) expect(expired.length).toBeGreaterThanOrEqual(1);
        interrupted += expired.length;
        // Every attempt but the last was interrupted, and counted as such, not as a failed try.
        expect(run.interruptions).toBe(expired.length);
        expect(run.attempt).toBe(1 + run.interruptions);
        expect(run.attempt).toBe(
          1 + events.filter((e) => e.type === "task:retrying" && e.task === run.task).length,
        );
      }
    }
    expect(interrupted).toBeGreaterThan(0);
  }, 360_000);

  it("a worker frozen with SIGSTOP past its lease: its late completion is refused, the reclaiming worker's result stands", async () => {
    const [id] = await startMany("frozen", 1, 1, 3000);
    const first = startWorker("1s");
    // Freeze it only once its body has recorded its side effect and is working (a 3 s sleep):
    // "running" alone may come before the body's first statement.
    await waitFor(
      async () => ((await sideEffects([id!])).get(`${id}/t0`) ?? 0) >= 1,
      30_000,
      "the body to start",
    );
    first.kill("SIGSTOP");
    const second = startWorker("1s");
    await waitFor(() => allEnded([id!]), 60_000, "the execution to end");
    first.kill("SIGCONT");
    // Give the frozen worker time to finish its attempt and report it.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await stopWorkers();
    const execution = (await store.getExecution(id!))!;
    expect(execution.status).toBe("succeeded");
    const [run] = (await store.listRuns(id!)).filter((r) => r.kind === "task");
    // The default retry policy (one attempt) was enough: the lost attempt was an interruption.
    expect(run!.attempt).toBe(2);
    expect(run!.interruptions).toBe(1);
    expect(run!.output).toEqual({ pid: second.pid });
    const events = await store.listEvents(id!);
    expect(events.filter((e) => e.type === "task:succeeded")).toHaveLength(1);
    expect(events).toContainEqual(expect.objectContaining({ type: "lease:expired", task: "t0", attempt: 1 }));
    // The frozen worker's body did run to its end (two side effects), but only one result counts.
    expect((await sideEffects([id!])).get(`${id}/t0`)).toBe(2);
  }, 120_000);

  it("a worker stopped with SIGTERM releases its running task past its grace: another finishes it, no attempt used up", async () => {
    const [id] = await startMany("released", 1, 1, 3000);
    const first = startWorker("30s", "200ms");
    await waitFor(
      async () => ((await sideEffects([id!])).get(`${id}/t0`) ?? 0) >= 1,
      30_000,
      "the body to start",
    );
    const second = startWorker();
    const firstExit = new Promise((resolve) => first.on("exit", resolve));
    first.kill("SIGTERM");
    await firstExit;
    await waitFor(() => allEnded([id!]), 60_000, "the execution to end");
    await stopWorkers();
    expect((await store.getExecution(id!))!.status).toBe("succeeded");
    const [run] = (await store.listRuns(id!)).filter((r) => r.kind === "task");
    expect(run).toMatchObject({ status: "succeeded", attempt: 2, interruptions: 1, maxAttempts: 1 });
    expect(run!.output).toEqual({ pid: second.pid });
    const retried = (await store.listEvents(id!)).filter((e) => e.type === "task:retrying");
    expect(retried).toEqual([
      expect.objectContaining({
        task: "t0",
        attempt: 1,
        error: expect.objectContaining({ type: "Abandoned" }),
      }),
    ]);
  }, 120_000);
});
