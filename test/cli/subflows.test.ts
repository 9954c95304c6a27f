/**
 * Sub-workflows as users meet them on the command line, as real processes on a SQLite file:
 * `weft validate` and registration refuse a workflow that starts itself, and `weft status` links
 * a parent and its children both ways.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { runWeft } from "../helpers/cli.js";

let dir = "";
let store = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-subflows-cli-"));
  store = `sqlite:${join(dir, "weft.db")}`;
});

const weft = (...args: string[]) => runWeft([...args, "--store", store], { cwd: dir });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const calls = (name: string, target: string) => `
name: ${name}
tasks:
  go:
    action: workflow
    with: { workflow: ${target} }
`;

describe("sub-workflows on the command line", () => {
  it("weft validate refuses a workflow that starts itself, directly or through the files given", async () => {
    const self = file("self.yaml", calls("self", "self"));
    const direct = await runWeft(["validate", self], { cwd: dir });
    expect(direct.code).toBe(2);
    expect(direct.stderr).toContain(
      'self.yaml:6:23: task "go": "with.workflow" is "self", the workflow itself: a workflow cannot start itself as its own sub-workflow',
    );
    const a = file("a.yaml", calls("a", "b"));
    const b = file("b.yaml", calls("b", "a"));
    const chain = await runWeft(["validate", a, b], { cwd: dir });
    expect(chain.code).toBe(2);
    expect(chain.stderr).toContain(
      'a.yaml: workflow "a" starts itself through its sub-workflows: a.go -> b -> b.go -> a',
    );
    // Alone, each file is fine: the other is not known.
    expect((await runWeft(["validate", a], { cwd: dir })).code).toBe(0);
    const undo = file(
      "undo.yaml",
      "name: u\ntasks:\n  a:\n    action: noop\n    undo: { action: workflow, with: { workflow: x } }\n",
    );
    const refused = await runWeft(["validate", undo], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'undo.yaml:5:21: task "a": "undo.action" is "workflow": an undo cannot start a sub-workflow',
    );
  });

  it("weft start refuses to register a workflow whose registered sub-workflows lead back to it", async () => {
    expect((await weft("start", file("b.yaml", calls("b", "a")))).code).toBe(0);
    const refused = await weft("start", file("a.yaml", calls("a", "b")));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'Workflow "a" starts itself through its sub-workflows: a.go -> b -> b.go -> a',
    );
    expect(refused.stderr).not.toContain("    at ");
  });

  it("weft run carries a sub-workflow; weft status links parent and children both ways", async () => {
    const child = file(
      "child.yaml",
      `
name: child
inputs:
  n: { type: number }
tasks:
  double: { action: echo, with: { message: "\${{ inputs.n * 2 }}" } }
output: "\${{ tasks.double.output }}"
`,
    );
    const parent = file(
      "parent.yaml",
      `
name: parent
tasks:
  sub:
    action: workflow
    with: { workflow: child, input: { n: 21 } }
output: "\${{ tasks.sub.output }}"
`,
    );
    // Registered (and one execution of it started, which no worker runs here).
    expect((await weft("start", child, "-i", "n=1")).code).toBe(0);
    const run = await weft("run", parent, "--json");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ status: "succeeded", output: 42 });

    const status = await weft("status", report.id, "--json");
    const parentReport = JSON.parse(status.stdout);
    expect(parentReport.children).toEqual([
      { id: expect.any(String), workflow: "child", status: "succeeded", task: "sub", attempt: 1 },
    ]);
    const childId = parentReport.children[0].id;
    const childReport = JSON.parse((await weft("status", childId, "--json")).stdout);
    expect(childReport).toMatchObject({
      workflow: "child",
      status: "succeeded",
      output: 42,
      parent: { id: report.id, task: "sub", attempt: 1 },
    });
    const text = (await weft("status", report.id)).stdout;
    expect(text).toContain(`children:\n  ${childId} (child): succeeded, task "sub" attempt 1`);
    expect((await weft("status", childId)).stdout).toContain(`parent: ${report.id} (task "sub", attempt 1)`);
  });
});
