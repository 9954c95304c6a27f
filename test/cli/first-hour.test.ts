/**
 * The commands a newcomer meets in the first hour, as real processes on a real SQLite file:
 * `--version`, the history (`events`, `--follow`), `watch`, `retry`, `workflows`, what `status`
 * says of a waiting delegate, Ctrl-C on `weft run`, and `resume` refusing a server it cannot use.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

let dir = "";
let store = "";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const env = { WEFT_SERVER: "", WEFT_STORE: "" };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-first-"));
  store = `sqlite:${join(dir, "weft.db")}`;
  // Fails its first attempt (the marker file does not exist yet), succeeds after.
  writeFileSync(
    join(dir, "flaky.yaml"),
    `name: flaky
tasks:
  first:
    action: shell
    retry: { attempts: 2, backoff: 10ms }
    with: { command: "test -f first.done || { touch first.done; echo first try fails >&2; exit 3; }" }
  second:
    action: echo
    with: { message: "\${{ tasks.first.output.code }}" }
output: "\${{ tasks.second.output }}"
`,
  );
  writeFileSync(
    join(dir, "once.yaml"),
    `name: once
tasks:
  first:
    action: shell
    with: { command: "test -f once.done || { touch once.done; echo no marker yet >&2; exit 3; }" }
  second:
    action: echo
    after: [first]
    with: { message: done }
`,
  );
  writeFileSync(
    join(dir, "approval.yaml"),
    `name: approval
tasks:
  prepare: { action: echo, with: { message: ready } }
  approve: { action: delegate, after: [prepare], timeout: 1h }
output: "\${{ tasks.approve.output }}"
`,
  );
});

const weft = (...args: string[]) => runWeft([...args, "--store", store], { cwd: dir, env });

async function run(
  file: string,
): Promise<{ id: string; code: number | null; report: Record<string, unknown> }> {
  const result = await weft("run", file, "--json");
  const report = JSON.parse(result.stdout) as Record<string, unknown> & { id: string };
  return { id: report.id, code: result.code, report };
}

describe("weft --version", () => {
  it("prints the package's version", async () => {
    const version = (
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
        version: string;
      }
    ).version;
    for (const flag of ["--version", "-V"]) {
      const result = await runWeft([flag], { cwd: dir });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });
});

describe("weft events", () => {
  it("shows the user's tasks only, a success without the earlier attempt's error, ISO times", async () => {
    const { id, code } = await run("flaky.yaml");
    expect(code).toBe(0);

    const text = await weft("events", id);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain("$end");
    const success = text.stdout.split("\n").find((line) => /task:succeeded +first/.test(line));
    expect(success).toBeDefined();
    expect(success).not.toContain("exited with code 3");
    expect(text.stdout).toMatch(/task:retrying +first, attempt 1: command exited with code 3/);

    const json = await weft("events", id, "--json");
    const events = JSON.parse(json.stdout) as { type: string; task?: string; at: unknown; error?: unknown }[];
    expect(events.map((e) => e.task).filter(Boolean)).not.toContain("$end");
    for (const event of events) expect(event.at).toMatch(ISO);
    const succeeded = events.find((e) => e.type === "task:succeeded" && e.task === "first");
    expect(succeeded).toBeDefined();
    expect(succeeded!.error).toBeUndefined();
    expect(events.at(-1)!.type).toBe("execution:succeeded");
  });

  it("answers an unknown execution with exit 2 and its id", async () => {
    const result = await weft("events", "no-such-id");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no-such-id");
  });
});

describe("a waiting delegate", () => {
  it("status shows its deadline and how to complete it; watch and events --follow follow it to the end", async () => {
    const running = startWeft(["run", "approval.yaml", "--store", store], { cwd: dir, env });
    await waitFor(() => /waiting approve/.test(running.output.stderr), 20_000, "approve to wait");
    const id = /execution (\S+) started/.exec(running.output.stderr)![1]!;

    const status = await weft("status", id);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/wait approve/);
    expect(status.stdout).toMatch(/waiting for a callback until \d{4}-\d\d-\d\dT\S+Z/);
    expect(status.stdout).toContain(`weft complete --execution ${id} --task approve`);
    const json = JSON.parse((await weft("status", id, "--json")).stdout) as {
      tasks: { approve: { deadline: string } };
    };
    expect(json.tasks.approve.deadline).toMatch(ISO);
    // About an hour from now: the task's timeout is its deadline.
    expect(Date.parse(json.tasks.approve.deadline) - Date.now()).toBeGreaterThan(50 * 60_000);

    const watch = startWeft(["watch", id, "--store", store], { cwd: dir, env });
    const follow = startWeft(["events", id, "--follow", "--json", "--store", store], { cwd: dir, env });
    // Both have shown the history so far before the delegate is completed.
    await waitFor(() => /waiting approve/.test(watch.output.stderr), 20_000, "watch to show the wait");
    await waitFor(() => follow.output.stdout.includes('"task:waiting"'), 20_000, "follow to show the wait");
    expect(follow.output.stdout).not.toContain("execution:succeeded");

    const complete = await weft(
      "complete",
      "--execution",
      id,
      "--task",
      "approve",
      "--output",
      '{"ok": true}',
    );
    expect(complete.code).toBe(0);

    const watched = await watch.done;
    expect(watched.code).toBe(0);
    expect(watched.stderr).toContain(`watching execution ${id} (approval): running`);
    expect(watched.stderr).toContain("succeeded approve");
    expect(watched.stderr).toContain(`execution ${id} (approval): succeeded`);
    expect(JSON.parse(watched.stdout)).toEqual({ ok: true });

    const followed = await follow.done;
    expect(followed.code).toBe(0);
    const lines = followed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; at: string });
    expect(lines.at(-1)!.type).toBe("execution:succeeded");
    for (const line of lines) expect(line.at).toMatch(ISO);
    expect((await running.done).code).toBe(0);
  });
});

describe("weft retry", () => {
  it("makes a failed task ready again; resume runs it to success", async () => {
    const { id, code } = await run("once.yaml");
    expect(code).toBe(1);

    const unknown = await weft("retry", id, "nope");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('has no task "nope"; its tasks are first, second');

    const retried = await weft("retry", id, "first", "--json");
    expect(retried.code).toBe(0);
    const report = JSON.parse(retried.stdout) as {
      status: string;
      tasks: Record<string, { status: string }>;
    };
    expect(report.status).toBe("running");
    expect(report.tasks.first!.status).toBe("ready");
    expect(retried.stderr).toContain(`weft resume ${id}`);

    const resumed = await weft("resume", id, "--json");
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      status: "succeeded",
      tasks: { first: { status: "succeeded", attempts: 2 }, second: { status: "succeeded" } },
    });

    const again = await weft("retry", id, "first");
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^weft: .*succeeded/);
  });
});

describe("weft workflows", () => {
  it("lists what weft start registered, newest version, ISO times", async () => {
    const empty = await weft("workflows", "--json");
    expect(JSON.parse(empty.stdout)).toEqual([]);
    expect((await weft("start", "once.yaml")).code).toBe(0);
    const listed = await weft("workflows", "--json");
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as {
      name: string;
      version: number;
      tasks: number;
      createdAt: string;
    }[];
    expect(rows).toMatchObject([{ name: "once", version: 1, tasks: 2 }]);
    expect(rows[0]!.createdAt).toMatch(ISO);
    expect((await weft("workflows")).stdout).toMatch(/^once +v1 +2 tasks/);
  });
});

describe("--json times", () => {
  it("run, status and list --json give ISO 8601 times, and run --json is status --json", async () => {
    const { id, report } = await run("flaky.yaml");
    expect(report.createdAt).toMatch(ISO);
    expect(report.finishedAt).toMatch(ISO);
    const status = JSON.parse((await weft("status", id, "--json")).stdout) as unknown;
    expect(status).toEqual(report);
    const list = JSON.parse((await weft("list", "--json")).stdout) as { id: string; createdAt: string }[];
    expect(list.find((row) => row.id === id)!.createdAt).toMatch(ISO);
  });
});

describe("Ctrl-C on weft run", () => {
  it("says how to resume, exits 130, and resume finishes the execution", async () => {
    writeFileSync(
      join(dir, "slow.yaml"),
      `name: slow
tasks:
  nap:
    action: shell
    with: { command: "until [ -e '${join(dir, "go")}' ]; do sleep 0.05; done" }
  after: { action: echo, after: [nap], with: { message: woke } }
`,
    );
    const running = startWeft(["run", "slow.yaml", "--store", store], { cwd: dir, env });
    await waitFor(() => /execution (\S+) started/.test(running.output.stderr), 20_000, "the run to start");
    const id = /execution (\S+) started/.exec(running.output.stderr)![1]!;
    running.child.kill("SIGINT");
    const ended = await running.done;
    expect({ code: ended.code, signal: ended.signal }).toEqual({ code: 130, signal: null });
    expect(ended.stderr).toContain(`interrupted: execution ${id} is kept`);
    expect(ended.stderr).toContain(`weft resume ${id} --store ${store}`);
    expect(ended.stderr).not.toMatch(/\n\s+at /);

    // The gate opens only now, so the interrupted run cannot have ended before Ctrl-C reached it.
    writeFileSync(join(dir, "go"), "");
    const resumed = await weft("resume", id, "--json");
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: "succeeded" });
  });
});

describe("commands that need the store", () => {
  it("resume refuses --server and $WEFT_SERVER instead of opening a local file", async () => {
    const flag = await runWeft(["resume", "some-id", "--server", "http://127.0.0.1:9"], { cwd: dir, env });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("give --store URL, not --server");
    const fromEnv = await runWeft(["resume", "some-id"], {
      cwd: dir,
      env: { WEFT_SERVER: "http://127.0.0.1:9", WEFT_STORE: "" },
    });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain("WEFT_SERVER is set");
  });

  it("run has no --server, and says what to use instead", async () => {
    const result = await runWeft(["run", "once.yaml", "--server", "http://127.0.0.1:9"], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--server'");
    expect(result.stderr).toContain("weft start FILE --server URL");
  });

  it("run and worker refuse $WEFT_SERVER with no store named, rather than open a new local file", async () => {
    const serverOnly = { WEFT_SERVER: "http://127.0.0.1:9", WEFT_STORE: "" };
    for (const args of [["run", "once.yaml"], ["worker"]]) {
      const refused = await runWeft(args, { cwd: dir, env: serverOnly });
      expect(refused.code, args.join(" ")).toBe(2);
      expect(refused.stderr).toContain(
        "WEFT_SERVER is set, but this command runs in this process and needs a store",
      );
      expect(refused.stderr).not.toMatch(/^\s+at /m);
    }
    expect(existsSync(join(dir, ".weft"))).toBe(false);
  });
});
