/**
 * `--server URL` and $WEFT_SERVER on the commands that read and act on executions: `list`,
 * `events` (and `--follow`, over the SSE stream), `watch`, `retry` and `workflows` call a real
 * `weft server` process, print what the store path prints, and never open a local store instead.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "weft-server-cmds-"));
/** Where the commands under test run: a directory with no store, which must stay so. */
const client = mkdtempSync(join(tmpdir(), "weft-server-client-"));
const store = `sqlite:${join(dir, "weft.db")}`;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
let server: ReturnType<typeof startWeft>;
let url = "";

/** The CLI under test, with $WEFT_SERVER pointing at the server (or `--server` given by the test). */
const weft = (...args: string[]) =>
  runWeft(args, { cwd: client, env: { WEFT_SERVER: url, WEFT_STORE: "", WEFT_API_TOKEN: "" } });

beforeAll(async () => {
  writeFileSync(
    join(dir, "once.yaml"),
    `name: once
tasks:
  first:
    action: shell
    with: { command: "test -f ${join(dir, "once.done")} || { touch ${join(dir, "once.done")}; exit 3; }" }
  second: { action: echo, after: [first], with: { message: done } }
output: "\${{ tasks.second.output }}"
`,
  );
  writeFileSync(
    join(dir, "approval.yaml"),
    `name: approval
tasks:
  approve: { action: delegate, timeout: 1h }
output: "\${{ tasks.approve.output }}"
`,
  );
  // The flaky task is a shell command, which definitions sent over HTTP may use only when allowed.
  server = startWeft(["server", "--store", store, "--port", "0", "--workers", "1", "--allow-actions", "*"], {
    cwd: dir,
    env: { WEFT_API_TOKEN: "" },
  });
  await waitFor(() => /listening on (\S+)/.test(server.output.stderr), 20_000, "the server to listen");
  url = /listening on (\S+)/.exec(server.output.stderr)![1]!;
});

afterAll(async () => {
  server.child.kill("SIGTERM");
  expect((await server.done).code).toBe(0);
  // Nothing above fell back to a store of its own in the client's directory.
  expect(existsSync(join(client, ".weft"))).toBe(false);
});

/** Polls the API directly (not through the CLI under test). */
async function waitForStatus(id: string, status: string): Promise<void> {
  await waitFor(
    async () =>
      ((await (await fetch(`${url}/v1/executions/${id}`)).json()) as { status: string }).status === status,
    20_000,
    `execution ${id} to be ${status}`,
  );
}

async function start(file: string): Promise<string> {
  const started = await weft("start", join(dir, file));
  expect(started.stderr).toBe("");
  expect(started.code).toBe(0);
  return started.stdout.trim();
}

describe("over --server and $WEFT_SERVER", () => {
  it("list, events, retry and workflows read and act through the server", async () => {
    const id = await start("once.yaml");
    await waitForStatus(id, "failed");

    for (const args of [
      ["list", "--json"],
      ["list", "--json", "--server", url],
    ]) {
      const listed = await weft(...args);
      expect(listed.code).toBe(0);
      const rows = JSON.parse(listed.stdout) as { id: string; status: string; createdAt: string }[];
      expect(rows.find((row) => row.id === id)).toMatchObject({
        status: "failed",
        createdAt: expect.stringMatching(ISO),
      });
    }
    const filtered = JSON.parse((await weft("list", "--json", "--status", "succeeded")).stdout) as {
      id: string;
    }[];
    expect(filtered.map((row) => row.id)).not.toContain(id);

    const retried = await weft("retry", id, "first", "--json");
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ id, status: "running" });
    // The server's worker runs it: no `weft resume` needed.
    await waitForStatus(id, "succeeded");

    const events = await weft("events", id, "--json");
    expect(events.code).toBe(0);
    const history = JSON.parse(events.stdout) as {
      type: string;
      task?: string;
      at: string;
      error?: unknown;
    }[];
    expect(history.map((e) => e.task)).not.toContain("$end");
    for (const event of history) expect(event.at).toMatch(ISO);
    expect(history.filter((e) => e.type === "execution:retried")).toHaveLength(1);
    expect(history.find((e) => e.type === "task:succeeded" && e.task === "first")!.error).toBeUndefined();
    expect(history.at(-1)!.type).toBe("execution:succeeded");

    const text = await weft("events", id);
    expect(text.stdout).toMatch(/task:failed +first, attempt 1: command exited with code 3/);

    const workflows = await weft("workflows", "--json");
    expect(JSON.parse(workflows.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "once", version: 1, tasks: 2 })]),
    );

    const unknown = await weft("retry", id, "nope");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('has no task "nope"');
  });

  it("watch and events --follow show a live execution to its end over the event stream", async () => {
    const id = await start("approval.yaml");
    await waitForStatus(id, "running");
    const env = { WEFT_SERVER: url, WEFT_STORE: "" };
    const watch = startWeft(["watch", id], { cwd: client, env });
    const follow = startWeft(["events", id, "--follow"], { cwd: client, env });
    await waitFor(() => /waiting approve/.test(watch.output.stderr), 20_000, "watch to show the wait");
    await waitFor(
      () => /task:waiting +approve/.test(follow.output.stdout),
      20_000,
      "follow to show the wait",
    );
    expect(follow.output.stdout).not.toContain("execution:succeeded");

    const status = await weft("status", id);
    expect(status.stdout).toMatch(/waiting for a callback until \S+Z/);

    const complete = await runWeft(
      ["complete", "--execution", id, "--task", "approve", "--output", '"yes"', "--store", store],
      { cwd: dir },
    );
    expect(complete.code).toBe(0);

    const watched = await watch.done;
    expect(watched.code).toBe(0);
    expect(watched.stderr).toContain(`execution ${id} (approval): succeeded`);
    expect(JSON.parse(watched.stdout)).toBe("yes");
    const followed = await follow.done;
    expect(followed.code).toBe(0);
    expect(followed.stdout).toMatch(/execution:succeeded\n$/);
    expect(followed.stdout).not.toContain("$end");
  });

  it("an unknown execution answers exit 2 with the server's message", async () => {
    for (const command of ["events", "watch"]) {
      const result = await weft(command, "no-such-execution");
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^weft: .*no-such-execution/);
    }
  });
});
