/**
 * forEach through the real `weft` CLI on a real SQLite file: `weft run` of the example, the
 * one-line status of a forEach task, and `weft validate` refusing `item` where no instance is.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { runWeft } from "../helpers/cli.js";

const EXAMPLE = fileURLToPath(new URL("../../examples/for-each.yaml", import.meta.url));
let dir = "";
let store = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-foreach-cli-"));
  store = `sqlite:${join(dir, "weft.db")}`;
});

const weft = (...args: string[]) => runWeft([...args, "--store", store], { cwd: dir });

describe("weft run with forEach", () => {
  it("runs one instance per item and prints the task's outputs in item order", async () => {
    const result = await weft("run", EXAMPLE, "-i", 'words=["a","bbb","cc","dddd"]', "--json");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ status: "succeeded", output: { lengths: [1, 3, 2, 4], total: 10 } });
    expect(report.tasks.measure).toMatchObject({ status: "succeeded", instances: { succeeded: 4 } });
    expect(report.tasks["measure[0]"]).toBeUndefined();
    // Without --json, the progress lines name the task once, not each instance.
    const plain = await weft("run", EXAMPLE, "-i", 'words=["a","bbb","cc","dddd"]');
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/^expanded measure into 4 instances$/m);
    expect(plain.stderr).toMatch(/^succeeded measure$/m);
    expect(plain.stderr).not.toContain("measure[");
    const status = await weft("status", report.id);
    expect(status.stdout).toContain("  ok   measure [instances: 4 succeeded]\n");
  });

  it("completes an empty list at once with []", async () => {
    const result = await weft("run", EXAMPLE, "-i", "words=[]", "--json");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      status: "succeeded",
      tasks: { measure: { status: "succeeded", output: [] } },
    });
    expect(report.tasks.measure.instances).toBeUndefined();
  });
});

describe("weft validate with forEach", () => {
  it("refuses item outside a forEach task with file:line:col, exit 2", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, 'name: bad\ntasks:\n  a:\n    action: echo\n    with: { message: "${{ item }}" }\n');
    const result = await runWeft(["validate", file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /bad\.yaml:5:\d+: task "a": the expression "\$\{\{ item \}\}" in "with\.message" reads item, which exists only in the "with" of a task with "forEach"/,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
