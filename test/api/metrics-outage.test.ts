/**
 * Metrics while the store is down, for real: a private PostgreSQL cluster is stopped under a
 * `weft server` and a `weft worker --metrics-port`. Both keep answering scrapes; the server says
 * `weft_store_up 0` and drops the store's figures rather than show stale ones, the worker says
 * `weft_store_down 1`; once the cluster is back, both recover and the outage is counted once.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWeft, waitFor } from "../helpers/cli.js";
import { startPrivatePostgres, type PrivatePostgres } from "../helpers/private-postgres.js";

let server: PrivatePostgres;
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = await startPrivatePostgres();
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await server?.destroy();
});

async function announced(args: string[], announce: RegExp): Promise<string> {
  const { child, output } = startWeft(args, { cwd: process.cwd() });
  children.push(child);
  let url: string | undefined;
  await waitFor(() => (url = announce.exec(output.stderr)?.[1]) !== undefined, 20_000, `weft ${args[0]}`);
  return url!;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
}

const has = (text: string, line: string) => text.split("\n").includes(line);

describe("metrics during a store outage (private PostgreSQL)", () => {
  it("keep answering, say the store is down, and count the outage once it is over", async () => {
    const store = server.url({ schema: "weft_metrics", poll: 200 });
    const api = await announced(
      ["server", "--store", store, "--workers", "0", "--port", "0"],
      /listening on (\S+)/,
    );
    const worker = await announced(
      ["worker", "--store", store, "--quiet", "--metrics-port", "0"],
      /metrics on (\S+)/,
    );
    expect(has(await scrape(`${api}/metrics`), "weft_store_up 1")).toBe(true);
    expect(has(await scrape(worker), "weft_store_down 0")).toBe(true);

    await server.stop();
    const down = await scrape(`${api}/metrics`);
    expect(has(down, "weft_store_up 0")).toBe(true);
    expect(down).not.toMatch(/^weft_executions\{/m);
    expect(down).not.toMatch(/^weft_ready_runs /m);
    await waitFor(async () => has(await scrape(worker), "weft_store_down 1"), 20_000, "the worker to see it");

    await server.start();
    await waitFor(async () => has(await scrape(`${api}/metrics`), "weft_store_up 1"), 30_000, "the server");
    await waitFor(async () => has(await scrape(worker), "weft_store_down 0"), 30_000, "the worker");
    expect(has(await scrape(worker), "weft_store_outages_total 1")).toBe(true);
  }, 120_000);
});
