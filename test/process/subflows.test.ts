/**
 * Sub-workflows across real `weft worker` processes on PostgreSQL: a child started by one worker
 * runs on any, a failed child is retried as a new one, `weft cancel` of the parent cancels the
 * child another process is running, and `weft status` links them. Shell bodies count their
 * side effects in files.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWorkflow } from "../../src/definition/load.js";
import { Engine } from "../../src/engine/engine.js";
import { isTerminalExecution } from "../../src/engine/states.js";
import type { Store } from "../../src/engine/store.js";
import { openStore } from "../../src/runtime/open-store.js";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";
import { pgFixture, type PgFixture } from "./pg-fixture.js";
import { FLAKY_CHILD, retryingParent } from "../helpers/subflow-workflows.js";

let fixture: PgFixture;
let store: Store;
let engine: Engine;
const dir = mkdtempSync(join(tmpdir(), "weft-subflow-procs-"));
const workers = new Set<ChildProcess>();

beforeAll(async () => {
  fixture = await pgFixture("subflows");
  store = await openStore(fixture.url);
  engine = new Engine(store);
  for (let i = 0; i < 2; i++) {
    const { child } = startWeft(["worker", "--store", fixture.url, "--concurrency", "4", "--quiet"], {
      cwd: dir,
    });
    workers.add(child);
  }
});

afterAll(async () => {
  const exits = [...workers].map((child) => new Promise((resolve) => child.on("exit", resolve)));
  for (const child of workers) child.kill("SIGTERM");
  await Promise.all(exits);
  await store?.close();
  await fixture?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").length : 0);

async function ended(id: string): Promise<void> {
  await waitFor(
    async () => isTerminalExecution((await store.getExecution(id))!.status),
    30_000,
    `execution ${id} to end`,
  );
}

describe("sub-workflows on weft worker processes", () => {
  it("retries a failing child as new children until the third succeeds; weft status links them", async () => {
    await engine.registerWorkflow(parseWorkflow(FLAKY_CHILD, "flaky.yaml"));
    const parent = parseWorkflow(retryingParent('"${{ tasks.sub.output }}"'), "parent.yaml");
    const file = join(dir, "flaky.log");
    const { execution } = await engine.start(parent, { file });
    await ended(execution.id);
    expect(await store.getExecution(execution.id)).toMatchObject({ status: "succeeded", output: "3" });
    expect(lines(file)).toBe(3);
    const children = await store.listExecutions({ parentId: execution.id });
    expect(children.map((child) => child.status).sort()).toEqual(["failed", "failed", "succeeded"]);

    const status = await runWeft(["status", execution.id, "--store", fixture.url], { cwd: dir });
    expect(status.code).toBe(0);
    for (const child of children)
      expect(status.stdout).toContain(
        `${child.id} (flaky): ${child.status}, task "sub" attempt ${child.parent!.attempt}`,
      );
    const childStatus = await runWeft(["status", children[0]!.id, "--store", fixture.url, "--json"], {
      cwd: dir,
    });
    expect(JSON.parse(childStatus.stdout).parent).toMatchObject({ id: execution.id, task: "sub" });
  });

  it("weft cancel of the parent cancels the child another process is running", async () => {
    await engine.registerWorkflow(
      parseWorkflow(
        `name: holding
inputs:
  file: { type: string }
tasks:
  hold:
    action: shell
    with:
      command: 'echo started >> "$FILE"; exec sleep 60'
      env: { FILE: "\${{ inputs.file }}" }
`,
        "holding.yaml",
      ),
    );
    const parent = parseWorkflow(
      `name: waits
inputs:
  file: { type: string }
tasks:
  sub:
    action: workflow
    with: { workflow: holding, input: { file: "\${{ inputs.file }}" } }
`,
      "waits.yaml",
    );
    const file = join(dir, "holding.log");
    const { execution } = await engine.start(parent, { file });
    let childId = "";
    await waitFor(
      async () => {
        const [child] = await store.listExecutions({ parentId: execution.id });
        if (!child) return false;
        childId = child.id;
        const runs = await store.listRuns(child.id);
        return runs.some((run) => run.task === "hold" && run.status === "running") && lines(file) === 1;
      },
      30_000,
      "the child's task to run",
    );
    const cancel = await runWeft(["cancel", execution.id, "--store", fixture.url], { cwd: dir });
    expect(cancel.code).toBe(0);
    expect(await store.getExecution(execution.id)).toMatchObject({ status: "cancelled" });
    expect(await store.getExecution(childId)).toMatchObject({ status: "cancelled" });
    expect((await store.listRuns(childId)).find((run) => run.task === "hold")?.status).toBe("cancelled");
    expect(lines(file)).toBe(1);
  });
});
