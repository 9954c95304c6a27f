/**
 * Changing an execution with the CLI, as a user does, on a real SQLite file with real task
 * bodies: examples/provision.yaml makes files and logs every body and undo it runs, so each test
 * counts exactly what ran. Update after the end and mid-run (the update lands while a body of
 * the old traversal runs), rollback, undo, and the bad input each command refuses.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

const EXAMPLES = join(import.meta.dirname, "../../examples");
const env = { WEFT_SERVER: "", WEFT_STORE: "" };
let dir = "";
let res = "";
let store = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-living-"));
  res = join(dir, "res");
  store = `sqlite:${join(dir, "weft.db")}`;
});

const weft = (...args: string[]) => runWeft([...args, "--store", store], { cwd: dir, env });
const log = () => readFileSync(join(res, "log"), "utf8").trim().split("\n");
const files = () =>
  readdirSync(res)
    .filter((name) => name !== "log")
    .sort();

async function provision(): Promise<string> {
  const run = await weft("run", join(EXAMPLES, "provision.yaml"), "-i", `dir=${res}`, "--json");
  expect(run.code).toBe(0);
  return (JSON.parse(run.stdout) as { id: string }).id;
}

async function status(id: string) {
  return JSON.parse((await weft("status", id, "--json")).stdout) as {
    status: string;
    traversal?: { number: number; cause: string };
    tasks: Record<string, { status: string; reused?: true }>;
    cleanup?: { task: string; status: string }[];
  };
}

describe("weft update, rollback and undo on examples/provision.yaml", () => {
  it("update runs what changed, reuses the rest, then undoes what it replaced or removed, in reverse order", async () => {
    const id = await provision();
    expect(files()).toEqual(["dns", "network", "server-small"]);
    const update = await weft("update", id, join(EXAMPLES, "provision-v2.yaml"));
    expect(update.code).toBe(0);
    expect(update.stderr).not.toMatch(/\n\s+at /);
    // The network is reused (created once); dns depended on server-small, so its undo ran first.
    expect(log()).toEqual([
      "create network",
      "create server-small",
      "create dns",
      "create server-large",
      "create monitor",
      "undo dns",
      "undo server-small",
    ]);
    expect(files()).toEqual(["monitor", "network", "server-large"]);
    const report = await status(id);
    expect(report).toMatchObject({ status: "succeeded", traversal: { number: 2, cause: "update" } });
    expect(report.tasks.network!.reused).toBe(true);
    expect(report.cleanup?.map((undo) => [undo.task, undo.status]).sort()).toEqual([
      ["dns", "succeeded"],
      ["server", "succeeded"],
    ]);

    // The same definition again changes nothing: every task is reused, no body runs.
    expect((await weft("update", id, join(EXAMPLES, "provision-v2.yaml"))).code).toBe(0);
    expect(log()).toHaveLength(7);

    const rollback = await weft("rollback", id);
    expect(rollback.code).toBe(0);
    expect(files()).toEqual(["dns", "network", "server-small"]);
    expect(log().slice(7)).toEqual([
      "create server-small",
      "create dns",
      "undo monitor",
      "undo server-large",
    ]);

    const undo = await weft("undo", id, "--json");
    expect(undo.code).toBe(0);
    expect(JSON.parse(undo.stdout)).toMatchObject({ status: "undone", traversal: { cause: "undo" } });
    expect(files()).toEqual([]);
    expect(log().slice(11)).toEqual(["undo dns", "undo server-small", "undo network"]);
    const events = (await weft("events", id)).stdout;
    expect(events.match(/traversal:started/g)).toHaveLength(4);
  });

  it("an update that lands while the old traversal's body runs: that body finishes, the new traversal completes", async () => {
    const gate = join(dir, "go");
    // The server's body waits for the gate: it is running when the update lands.
    const slow = readFileSync(join(EXAMPLES, "provision.yaml"), "utf8").replace(
      "echo small on",
      `until [ -e '${gate}' ]; do sleep 0.05; done; echo small on`,
    );
    writeFileSync(join(dir, "slow.yaml"), slow);
    const running = startWeft(["run", "slow.yaml", "-i", `dir=${res}`, "--store", store], { cwd: dir, env });
    await waitFor(() => /execution \S+ started/.test(running.output.stderr), 20_000, "the run to start");
    const id = /execution (\S+) started/.exec(running.output.stderr)![1]!;
    await waitFor(
      async () => (await status(id)).tasks.server?.status === "running",
      20_000,
      "the server to run",
    );
    const update = await weft("update", id, join(EXAMPLES, "provision-v2.yaml"), "--detach");
    expect(update.code).toBe(0);
    // The new traversal's server waits for the old one's body: nothing of it ran yet.
    expect((await status(id)).tasks.server!.status).toBe("blocked");
    writeFileSync(gate, "");
    const ended = await running.done;
    // weft run worked on the new traversal too, until the execution ended.
    expect(ended.code).toBe(0);
    const report = await status(id);
    expect(report).toMatchObject({ status: "succeeded", traversal: { number: 2 } });
    // The old body's side effect happened, so it was recorded as a version and undone.
    expect(log()).toEqual([
      "create network",
      "create server-small",
      "create server-large",
      "create monitor",
      "undo server-small",
    ]);
    expect(files()).toEqual(["monitor", "network", "server-large"]);
  });

  it("refuses bad input before anything changes: an invalid file, another workflow, an unknown execution", async () => {
    const id = await provision();
    writeFileSync(
      join(dir, "bad.yaml"),
      "name: provision\ntasks:\n  a: { action: echo, after: [missing] }\n",
    );
    const bad = await weft("update", id, "bad.yaml");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:3:\d+: /);
    writeFileSync(join(dir, "other.yaml"), "name: other\ntasks:\n  a: { action: echo }\n");
    const other = await weft("update", id, "other.yaml");
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('cannot be updated to "other"');
    const unknown = await weft("undo", "no-such-id");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no-such-id");
    for (const result of [bad, other, unknown]) expect(result.stderr).not.toMatch(/\n\s+at /);
    const report = await status(id);
    expect(report.traversal).toBeUndefined();
    expect(log()).toHaveLength(3);
    expect(existsSync(join(res, "dns"))).toBe(true);
  });
});
