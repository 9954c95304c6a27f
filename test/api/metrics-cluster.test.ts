/**
 * Metrics of a cluster, as real processes on one PostgreSQL database: a `weft server` running no
 * tasks itself reports the executions separate `weft worker` processes ran (read from the store
 * at the scrape), and each worker serves its own counters on `--metrics-port`. Every scrape
 * passes `promtool check metrics` (Prometheus's own linter).
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import type { Store } from "../../src/engine/store.js";
import { openStore } from "../../src/runtime/open-store.js";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";
import { effectsDag, pgFixture, type PgFixture } from "../process/pg-fixture.js";

let fixture: PgFixture;
let store: Store;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  fixture = await pgFixture("metrics");
  store = await openStore(fixture.url);
});

afterAll(async () => {
  const exits = [...children].map((child) => new Promise((resolve) => child.on("exit", resolve)));
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(exits);
  await store?.close();
  await fixture?.drop();
});

/** Starts `weft ARGS` and answers the URL its stderr announces after `announce`. */
async function startAnnouncing(args: string[], announce: RegExp): Promise<string> {
  const { child, output } = startWeft(args, { cwd: process.cwd() });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let url: string | undefined;
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`weft ${args[0]} exited: ${output.stderr}`);
      url = announce.exec(output.stderr)?.[1];
      return url !== undefined;
    },
    20_000,
    `weft ${args[0]} to announce its URL`,
  );
  return url!;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series, e.g. `weft_executions{status="succeeded"}`, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Runs `promtool check metrics` on a scrape; fails, saying how to get promtool, when it is missing. */
function promtoolCheck(text: string): void {
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error(
      "promtool is not installed: install Prometheus's tools (Debian/Ubuntu: `apt-get install -y prometheus`; " +
        "elsewhere: the prometheus release archive from https://prometheus.io/download/ has promtool).",
    );
  }
  expect(`${result.stdout}${result.stderr}`.trim()).toBe("");
  expect(result.status).toBe(0);
}

describe("metrics of a cluster (real processes, PostgreSQL)", () => {
  it("the server counts what separate workers ran; each worker serves its own counters", async () => {
    const server = await startAnnouncing(
      ["server", "--store", fixture.url, "--workers", "0", "--port", "0"],
      /listening on (\S+)/,
    );
    const workers = await Promise.all(
      [1, 2].map(() =>
        startAnnouncing(
          ["worker", "--store", fixture.url, "--quiet", "--concurrency", "4", "--metrics-port", "0"],
          /metrics on (\S+)/,
        ),
      ),
    );
    const engine = new Engine(store);
    const spec = effectsDag(fixture, "metered", 3);
    await engine.registerWorkflow(spec);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await engine.start(spec, {})).execution.id);
    await waitFor(
      async () => (await store.countExecutions()).succeeded === ids.length,
      60_000,
      "the workers to run every execution",
    );

    const cluster = await scrape(`${server}/metrics`);
    expect(sample(cluster, 'weft_executions{status="succeeded"}')).toBe(6);
    expect(sample(cluster, 'weft_executions{status="running"}')).toBe(0);
    expect(sample(cluster, "weft_ready_runs")).toBe(0);
    expect(sample(cluster, "weft_store_up")).toBe(1);
    // The server's own engine ran nothing: its process counters say so.
    expect(sample(cluster, 'weft_executions_total{status="succeeded"}')).toBe(0);
    promtoolCheck(cluster);

    let attempts = 0;
    for (const url of workers) {
      const text = await scrape(url);
      attempts += sample(text, 'weft_task_attempts_total{kind="task",outcome="succeeded"}') ?? 0;
      expect(sample(text, "weft_store_outages_total")).toBe(0);
      expect(sample(text, "weft_store_down")).toBe(0);
      promtoolCheck(text);
    }
    expect(attempts).toBe(6 * 3);
  }, 90_000);

  it("counts ready runs no worker has taken yet", async () => {
    const server = await startAnnouncing(
      ["server", "--store", fixture.url, "--workers", "0", "--port", "0"],
      /listening on (\S+)/,
    );
    const before = sample(await scrape(`${server}/metrics`), "weft_ready_runs") ?? 0;
    const engine = new Engine(store);
    const spec = effectsDag(fixture, "queued", 1);
    // No worker may take these runs: stop the first test's workers.
    const workers = [...children].filter((child) => child.spawnargs.includes("worker"));
    const exits = workers.map((child) => new Promise((resolve) => child.on("exit", resolve)));
    for (const child of workers) child.kill("SIGTERM");
    await Promise.all(exits);
    for (let i = 0; i < 3; i++) await engine.start(spec, {});
    expect(sample(await scrape(`${server}/metrics`), "weft_ready_runs")).toBe(before + 3);
  }, 60_000);

  it("refuses a --metrics-port that is not a port, before opening the store", async () => {
    const result = await runWeft(["worker", "--store", "memory:", "--metrics-port", "99999"], {
      cwd: process.cwd(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--metrics-port must be a whole number from 0 to 65535, got "99999".');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a --metrics-port in use, naming it, without a stack trace", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const result = await runWeft(["worker", "--store", "memory:", "--metrics-port", String(port)], {
        cwd: process.cwd(),
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--metrics-port: cannot listen on 127.0.0.1:${port} (EADDRINUSE).`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
