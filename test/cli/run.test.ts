/**
 * `weft run` and the commands on stored executions, as real processes on a real SQLite file.
 * Every example in examples/ is run here as users would run it.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
let dir = "";
let store = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-cli-"));
  store = `sqlite:${join(dir, "weft.db")}`;
});

const weft = (...args: string[]) => runWeft([...args, "--store", store], { cwd: dir });

async function waitForTask(id: string, task: string, status: string): Promise<void> {
  await waitFor(
    async () => {
      const result = await weft("status", id, "--json");
      return result.code === 0 && JSON.parse(result.stdout).tasks[task]?.status === status;
    },
    20_000,
    `${task} to be ${status}`,
  );
}

describe("weft run", () => {
  it("runs the ETL example and prints the documented JSON object", async () => {
    const result = await weft("run", join(EXAMPLES, "etl.yaml"), "-i", "count=3", "--json");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ workflow: "etl", status: "succeeded", output: { values: [2, 4, 6] } });
    expect(report.tasks.extract).toMatchObject({ status: "succeeded", attempts: 1, output: { code: 0 } });
    expect(result.stderr).toMatch(/^execution \S+ started$/m);
    // status --json prints the same object.
    const status = await weft("status", report.id, "--json");
    expect(JSON.parse(status.stdout)).toEqual(report);
  });

  it("runs the fan-out example", async () => {
    const result = await weft("run", join(EXAMPLES, "fan-out.yaml"), "--json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).status).toBe("succeeded");
  });

  it("exits 1 when the workflow fails, with its undo run, and prints plain lines without a terminal", async () => {
    const result = await weft("run", join(EXAMPLES, "etl.yaml"), "-i", "failAtEnd=true");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^failed verify/m);
    expect(result.stderr).toMatch(/^succeeded undo stage$/m);
    expect(result.stderr).toContain("(etl): failed");
  });

  it("exits 2 on invalid input, naming the input, with no stack trace", async () => {
    const bad = await weft("run", join(EXAMPLES, "etl.yaml"), "-i", "count=many");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('weft: Input "count" must be a number, got "many".\n');
    const unknown = await weft("run", join(EXAMPLES, "etl.yaml"), "--input", '{"nope": 1}');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown input "nope"');
    const missing = await weft("run", join(dir, "missing.yaml"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).not.toContain("    at ");
  });

  it("finishes a delegate task that another process completes, and lists executions", async () => {
    const run = startWeft(["run", join(EXAMPLES, "approval.yaml"), "--json", "--store", store], { cwd: dir });
    await waitFor(() => /execution (\S+) started/.test(run.output.stderr), 20_000, "the execution id");
    const id = /execution (\S+) started/.exec(run.output.stderr)![1]!;
    await waitForTask(id, "approve", "waiting");
    const complete = await weft(
      "complete",
      "--execution",
      id,
      "--task",
      "approve",
      "--output",
      '{"approved": true, "by": "ada"}',
    );
    expect(complete.code).toBe(0);
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: "succeeded",
      output: { approvedBy: "ada", deployed: true },
    });

    const again = await weft("complete", "--execution", id, "--task", "approve", "--output", "{}");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("is not waiting for a callback");

    const list = JSON.parse((await weft("list", "--json")).stdout);
    expect(list).toEqual([{ id, workflow: "approval", status: "succeeded", createdAt: expect.any(String) }]);
    expect(JSON.parse((await weft("list", "--json", "--status", "failed")).stdout)).toEqual([]);
  }, 60_000);

  it("cancels a running execution from another process: weft run exits 1", async () => {
    writeFileSync(join(dir, "wait.yaml"), "name: wait\ntasks:\n  hold:\n    action: delegate\n");
    const run = startWeft(["run", "wait.yaml", "--store", store], { cwd: dir });
    await waitFor(() => /execution (\S+) started/.test(run.output.stderr), 20_000, "the execution id");
    const id = /execution (\S+) started/.exec(run.output.stderr)![1]!;
    await waitForTask(id, "hold", "waiting");
    expect((await weft("cancel", id)).code).toBe(0);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(JSON.parse((await weft("status", id, "--json")).stdout)).toMatchObject({
      status: "cancelled",
      tasks: { hold: { status: "cancelled" } },
    });
  }, 60_000);

  it("answers an unknown execution with exit 2 and a clear message", async () => {
    const result = await weft("status", "no-such-id");
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "weft: Execution \"no-such-id\" was not found. 'weft list' shows the executions.\n",
    );
  });
});
