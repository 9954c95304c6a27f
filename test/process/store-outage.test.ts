/**
 * Store outages on PostgreSQL, for real: a private cluster (never the machine's shared server) is
 * restarted and has its backends terminated while `weft worker` and `weft server` processes, and
 * a library runtime in this process, run executions whose bodies count themselves in a table of
 * the shared server. Nothing may exit, fail, or run a committed body again.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import type { Store } from "../../src/engine/store.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { openStore } from "../../src/runtime/open-store.js";
import { isStoreUnavailable } from "../../src/shared/errors.js";
import { startWeft, waitFor } from "../helpers/cli.js";
import { startPrivatePostgres, type PrivatePostgres } from "../helpers/private-postgres.js";
import { effectsDag, pgFixture, type PgFixture } from "./pg-fixture.js";

const TASKS = 5;

let server: PrivatePostgres;
let fixture: PgFixture;
let storeUrl: string;
let store: Store;
let engine: Engine;
const children: { name: string; child: ChildProcess; output: { stdout: string; stderr: string } }[] = [];

beforeAll(async () => {
  server = await startPrivatePostgres();
  fixture = await pgFixture("outage");
  storeUrl = server.url({ schema: "weft_outage", poll: 200 });
  store = await openStore(storeUrl);
  engine = new Engine(store);
}, 60_000);

afterAll(async () => {
  for (const { child } of children) child.kill("SIGKILL");
  await store?.close();
  await fixture?.drop();
  await server?.destroy();
});

function spawnWeft(name: string, args: string[]) {
  const started = startWeft([...args, "--store", storeUrl], { cwd: process.cwd() });
  children.push({ name, ...started });
  return started;
}

async function startFleet(): Promise<string> {
  const api = spawnWeft("server", ["server", "--port", "0", "--workers", "0"]);
  for (let i = 0; i < 2; i++) spawnWeft(`worker ${i}`, ["worker", "--concurrency", "8", "--lease", "10s"]);
  await waitFor(() => /listening on (\S+)/.test(api.output.stderr), 20_000, "the server to listen");
  return /listening on (\S+)/.exec(api.output.stderr)![1]!;
}

async function sideEffects(ids: readonly string[]): Promise<Map<string, number>> {
  const result = await fixture.client.query<{ key: string; n: string }>(
    `SELECT execution_id || '/' || task AS key, count(*) AS n FROM ${fixture.schema}.side_effects WHERE execution_id = ANY($1) GROUP BY 1`,
    [ids],
  );
  return new Map(result.rows.map((row) => [row.key, Number(row.n)]));
}

async function bodiesRun(ids: readonly string[]): Promise<number> {
  return [...(await sideEffects(ids)).values()].reduce((sum, n) => sum + n, 0);
}

async function startOverHttp(api: string, workflow: string): Promise<string> {
  const response = await fetch(`${api}/v1/executions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ workflow }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function statuses(ids: readonly string[]): Promise<string[]> {
  const wanted = new Set(ids);
  try {
    return (await store.listExecutions({ limit: 10_000 }))
      .filter((e) => wanted.has(e.id))
      .map((e) => e.status);
  } catch (error) {
    // This process's connections are terminated too: look again on the next poll.
    if (isStoreUnavailable(error)) return [];
    throw error;
  }
}

/** What every test asserts at the end: all succeeded, each body once, every process alive and quiet. */
async function expectNothingLost(ids: readonly string[]): Promise<void> {
  const ended = ["succeeded", "failed", "cancelled"];
  await waitFor(
    async () => (await statuses(ids)).filter((s) => ended.includes(s)).length === ids.length,
    120_000,
    `${ids.length} executions to end`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${children.map((c) => `${c.name}:\n${c.output.stderr}`).join("\n")}`);
  });
  const failed = (await store.listExecutions({ limit: 10_000 })).filter(
    (e) => ids.includes(e.id) && e.status !== "succeeded",
  );
  expect(
    failed.map((e) => ({ id: e.id, status: e.status, error: e.error })),
    children.map((c) => `${c.name}:\n${c.output.stderr}`).join("\n"),
  ).toEqual([]);
  const effects = await sideEffects(ids);
  expect(effects.size).toBe(ids.length * TASKS);
  expect([...effects.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  for (const { name, child, output } of children) {
    expect({ name, exitCode: child.exitCode, signal: child.signalCode }).toEqual({
      name,
      exitCode: null,
      signal: null,
    });
    expect(output.stderr).not.toMatch(/internal error|^\s+at /m);
  }
}

describe("PostgreSQL outages (a private cluster, real processes)", () => {
  it("restarted twice under 2 workers, a server and runtime.run: every execution succeeds, no body runs twice", async () => {
    const api = await startFleet();
    const spec = effectsDag(fixture, "outage_restart", TASKS, 150);
    await engine.registerWorkflow(spec);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await startOverHttp(api, spec.name));

    await waitFor(async () => (await bodiesRun(ids)) >= 20, 60_000, "20 bodies to run");
    await server.stop();
    // While it is down: the API says so with 503 and Retry-After, never 500.
    const health = await fetch(`${api}/healthz`);
    expect(health.status).toBe(503);
    expect(health.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await health.json()) as { reason: string }).reason).toMatch(/unavailable/);
    const refused = await fetch(`${api}/v1/executions?limit=1`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("STORE_UNAVAILABLE");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await server.start();

    // A library runtime rides the second restart out too.
    const runtime = await createRuntime({ store: storeUrl });
    const inProcess = runtime.run(effectsDag(fixture, "outage_in_process", TASKS, 150));
    for (let i = 0; i < 20; i++) ids.push(await startOverHttp(api, spec.name));
    await waitFor(async () => (await bodiesRun(ids)) >= 120, 60_000, "120 bodies to run");
    await server.restart({ downMs: 1000 });

    const ran = await inProcess;
    await runtime.close();
    expect(ran.status).toBe("succeeded");
    await expectNothingLost([...ids, ran.id]);
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    for (const { name, output } of children.filter((c) => c.name.startsWith("worker"))) {
      // One line when the outage began and one when it ended, not one per failed try.
      expect(output.stderr, name).toMatch(/is unavailable: .*Retrying with backoff/);
      expect(output.stderr, name).toMatch(/reachable again after/);
    }
  }, 180_000);

  it("survives the termination of its backends, again and again", async () => {
    const api =
      children.length > 0
        ? /listening on (\S+)/.exec(children.find((c) => c.name === "server")!.output.stderr)![1]!
        : await startFleet();
    const spec = effectsDag(fixture, "outage_terminate", TASKS, 100);
    await engine.registerWorkflow(spec);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await startOverHttp(api, spec.name));
    let terminated = 0;
    for (let round = 0; round < 4; round++) {
      await waitFor(async () => (await bodiesRun(ids)) >= 10 + round * 20, 60_000, "bodies to run");
      terminated += await server.terminateBackends("weft");
    }
    expect(terminated).toBeGreaterThan(0);
    await expectNothingLost(ids);
  }, 180_000);
});
