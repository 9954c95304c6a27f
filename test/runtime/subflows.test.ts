/**
 * Sub-workflows end to end on the real stores (a SQLite file and PostgreSQL), with real shell
 * bodies whose side effects are counted in a file: a child that fails twice and succeeds on the
 * parent's third attempt, a cancelled parent cancelling its running child, and the depth limit
 * stopping a workflow that starts itself through an expression.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseWorkflow } from "../../src/definition/load.js";
import type { ExecutionEvent, Store } from "../../src/engine/store.js";
import { openStore } from "../../src/runtime/open-store.js";
import { createRuntime, type RuntimeOptions } from "../../src/runtime/runtime.js";
import { usePostgresSchemas } from "../helpers/postgres.js";
import { FLAKY_CHILD, retryingParent } from "../helpers/subflow-workflows.js";

const dir = mkdtempSync(join(tmpdir(), "weft-subflows-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pg = usePostgresSchemas("subflows");
let files = 0;

const STORES: [string, () => Promise<Store>][] = [
  ["SQLite", () => openStore(`sqlite:${join(dir, `db-${++files}.db`)}`)],
  ["PostgreSQL", () => openStore(pg.url({}, pg.fresh("rt")))],
];

/** Appends a line per attempt; fails until the file holds three, then prints how many. */
const PARENT = retryingParent('{ child: "${{ tasks.sub.output }}" }');

/** Writes that it started, then holds until killed. */
const HOLDING_CHILD = `
name: holding
inputs:
  file: { type: string }
tasks:
  hold:
    action: shell
    with:
      command: 'echo started >> "$FILE"; exec sleep 60'
      env: { FILE: "\${{ inputs.file }}" }
`;

const HOLDING_PARENT = `
name: waits
inputs:
  file: { type: string }
tasks:
  sub:
    action: workflow
    with: { workflow: holding, input: { file: "\${{ inputs.file }}" } }
  after_sub: { action: noop, after: [sub] }
`;

/** Starts itself through an expression: registration cannot see it, the depth limit stops it. */
const LOOP = `
name: loop
inputs:
  next: { type: string, default: loop }
  file: { type: string }
tasks:
  mark:
    action: shell
    with:
      command: 'echo level >> "$FILE"'
      env: { FILE: "\${{ inputs.file }}" }
  again:
    action: workflow
    after: [mark]
    with: { workflow: "\${{ inputs.next }}", input: { file: "\${{ inputs.file }}" } }
`;

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").length : 0);

async function runtimeOn(open: () => Promise<Store>, options: RuntimeOptions = {}) {
  const store = await open();
  const runtime = await createRuntime({ store, pollMs: 20, ...options });
  return {
    runtime,
    close: async () => {
      await runtime.close();
      await store.close();
    },
  };
}

describe.each(STORES)("sub-workflows on %s", (_name, open) => {
  it("retries a child that fails twice as new children; the third succeeds and the parent gets its output", async () => {
    const { runtime, close } = await runtimeOn(open);
    try {
      await runtime.engine.registerWorkflow(parseWorkflow(FLAKY_CHILD, "flaky.yaml"));
      const file = join(dir, `flaky-${++files}.log`);
      const execution = await runtime.run(parseWorkflow(PARENT, "parent.yaml"), { file });
      expect(execution).toMatchObject({ status: "succeeded", output: { child: "3" } });
      expect(lines(file)).toBe(3);
      const children = await runtime.store.listExecutions({ parentId: execution.id });
      expect(children.map((child) => [child.parent?.attempt, child.status]).sort()).toEqual([
        [1, "failed"],
        [2, "failed"],
        [3, "succeeded"],
      ]);
      expect(children.every((child) => child.depth === 1 && child.workflow === "flaky")).toBe(true);
      const [sub] = (await runtime.store.listRuns(execution.id)).filter((run) => run.task === "sub");
      expect(sub).toMatchObject({ status: "succeeded", attempt: 3, output: "3" });
    } finally {
      await close();
    }
  });

  it("cancels the running child when the parent is cancelled", async () => {
    let childRunning!: () => void;
    const running = new Promise<void>((resolve) => (childRunning = resolve));
    const onEvents = (events: readonly ExecutionEvent[]) => {
      if (events.some((event) => event.type === "task:started" && event.task === "hold")) childRunning();
    };
    const { runtime, close } = await runtimeOn(open, { onEvents });
    try {
      await runtime.engine.registerWorkflow(parseWorkflow(HOLDING_CHILD, "holding.yaml"));
      const file = join(dir, `holding-${++files}.log`);
      let parentId = "";
      const ended = runtime.run(
        parseWorkflow(HOLDING_PARENT, "waits.yaml"),
        { file },
        { onStarted: (execution) => (parentId = execution.id) },
      );
      await running;
      await runtime.engine.cancel(parentId);
      const execution = await ended;
      expect(execution.status).toBe("cancelled");
      const [child] = await runtime.store.listExecutions({ parentId });
      expect(child).toMatchObject({ status: "cancelled", workflow: "holding" });
      const runs = await runtime.store.listRuns(child!.id);
      expect(runs.find((run) => run.task === "hold")?.status).toBe("cancelled");
      expect((await runtime.store.listRuns(parentId)).find((run) => run.task === "after_sub")?.status).toBe(
        "cancelled",
      );
      expect(lines(file)).toBe(1);
    } finally {
      await close();
    }
  });

  it("stops a workflow that starts itself at the depth limit, with a clear task error", async () => {
    const { runtime, close } = await runtimeOn(open, { maxDepth: 3 });
    try {
      const loop = parseWorkflow(LOOP, "loop.yaml");
      await runtime.engine.registerWorkflow(loop);
      const file = join(dir, `loop-${++files}.log`);
      const execution = await runtime.run(loop, { file });
      expect(execution.status).toBe("failed");
      // The top and three nested levels each ran their body once; the fourth child was refused.
      expect(lines(file)).toBe(4);
      let deepest = execution;
      for (;;) {
        const [next] = await runtime.store.listExecutions({ parentId: deepest.id });
        if (!next) break;
        deepest = next;
      }
      expect(deepest.depth).toBe(3);
      const again = (await runtime.store.listRuns(deepest.id)).find((run) => run.task === "again");
      expect(again).toMatchObject({
        status: "failed",
        attempt: 1,
        error: { type: "SubflowDepthExceeded", retryable: false },
      });
      expect(again?.error?.message).toContain("past the limit of 3");
      expect(execution.error?.message).toContain("past the limit of 3");
    } finally {
      await close();
    }
  });
});
