/**
 * Code-first workflows across real processes on PostgreSQL: builder modules loaded by
 * `weft worker --workflows`, started from another process, and a worker that lacks (or has an
 * older version of) the functions never claims their runs. Bodies append a line per call to a
 * file (O_APPEND: whole lines, whichever process writes), so each call is counted.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import { loadModuleWorkflow } from "../../src/runtime/workflow-modules.js";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";
import { pgFixture, type PgFixture } from "./pg-fixture.js";

const BUILDER = pathToFileURL(join(process.cwd(), "dist/definition/builder.js")).href;
const DIST = pathToFileURL(join(process.cwd(), "dist/")).href;

let fixture: PgFixture;
let runtime: Runtime;
let dir: string;
const workers = new Set<ChildProcess>();

/**
 * A module exporting workflow `name`: an action task, then two function tasks that append
 * `<label> <execution>/<task> <pid>` to `effects` (`label` tells versions apart in the file
 * and, being in the source, gives each version its own code id).
 */
function writeModule(file: string, name: string, label: string, effects: string): string {
  writeFileSync(
    file,
    `import { appendFileSync } from "node:fs";
import { workflow } from ${JSON.stringify(BUILDER)};
const effects = ${JSON.stringify(effects)};
export const flow = workflow(${JSON.stringify(name)}, { output: "\${{ tasks.double.output }}" })
  .task("seed", { action: "echo", with: { message: "21" } })
  .task("parse", { after: "seed" }, ({ seed }, ctx) => {
    appendFileSync(effects, "${label} " + ctx.executionId + "/parse " + process.pid + "\\n");
    return Number(seed.message ?? seed);
  })
  .task("double", { after: "parse" }, ({ parse }, ctx) => {
    appendFileSync(effects, "${label} " + ctx.executionId + "/double " + process.pid + "\\n");
    return parse * 2;
  });
`,
  );
  return file;
}

function startWorker(args: string[]): { child: ChildProcess; output: { stderr: string } } {
  const started = startWeft(["worker", "--store", fixture.url, "--concurrency", "4", ...args], {
    cwd: dir,
  });
  workers.add(started.child);
  started.child.on("exit", () => workers.delete(started.child));
  return started;
}

async function stopWorkers(): Promise<void> {
  const exits = [...workers].map((child) => new Promise((resolve) => child.on("exit", resolve)));
  for (const child of workers) child.kill("SIGTERM");
  await Promise.all(exits);
}

/** Lines of the effects file, as counts per "label execution/task". */
function effectsOf(file: string): Map<string, { count: number; pids: Set<string> }> {
  const counts = new Map<string, { count: number; pids: Set<string> }>();
  if (!existsSync(file)) return counts;
  const text = readFileSync(file, "utf8");
  for (const line of text.split("\n").filter(Boolean)) {
    const [label, key, pid] = line.split(" ");
    const entry = counts.get(`${label} ${key}`) ?? { count: 0, pids: new Set<string>() };
    entry.count += 1;
    entry.pids.add(pid!);
    counts.set(`${label} ${key}`, entry);
  }
  return counts;
}

/**
 * Starts `count` executions of the workflow in `file` from a Node process of its own (through
 * the built library, as a user's program would: vitest's transform would change the functions'
 * source, and so their code id) and answers their ids.
 */
async function startFromProcess(file: string, count: number): Promise<string[]> {
  const script = `
const { createRuntime } = await import(${JSON.stringify(`${DIST}index.js`)});
const { loadModuleWorkflow } = await import(${JSON.stringify(`${DIST}runtime/workflow-modules.js`)});
const runtime = await createRuntime({ store: process.argv[1] });
const flow = await loadModuleWorkflow(process.argv[2]);
for (let i = 0; i < Number(process.argv[3]); i++) console.log((await runtime.start(flow, {})).id);
await runtime.close();
`;
  const { execFile } = await import("node:child_process");
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script, fixture.url, file, String(count)],
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    ),
  );
  return stdout.split("\n").filter(Boolean);
}

async function ended(ids: readonly string[]): Promise<boolean> {
  for (const id of ids) {
    const execution = await runtime.store.getExecution(id);
    if (!execution || execution.status === "running" || execution.status === "pending") return false;
  }
  return true;
}

beforeAll(async () => {
  fixture = await pgFixture("codefirst");
  runtime = await createRuntime({ store: fixture.url, pollMs: 50 });
  dir = mkdtempSync(join(tmpdir(), "weft-codefirst-"));
});

afterAll(async () => {
  for (const child of workers) child.kill("SIGKILL");
  await runtime?.close();
  await fixture?.drop();
});

describe("code-first workflows on PostgreSQL (real processes)", () => {
  it("two `weft worker --workflows` processes run 100 executions started elsewhere, each body once", async () => {
    const flows = join(dir, "fleet");
    mkdirSync(flows);
    const effects = join(dir, "fleet.effects");
    const file = writeModule(join(flows, "etl.mjs"), "etl", "v1", effects);
    // A YAML workflow and a js action module beside it: loaded or skipped, never fatal.
    writeFileSync(join(flows, "hello.yaml"), "name: hello\ntasks:\n  hi:\n    action: noop\n");
    writeFileSync(join(flows, "package.json"), '{ "type": "module" }\n');
    const a = startWorker(["--workflows", flows]);
    const b = startWorker(["--workflows", flows]);
    await waitFor(
      () => [a, b].every((w) => w.output.stderr.includes("runs the functions of etl")),
      20_000,
      "both workers to load the module",
    );
    expect(a.output.stderr).toContain("1 YAML/JSON workflow(s)");
    expect(a.output.stderr).toContain("skipped");
    // A third process starts them; the workers run them.
    const ids = await startFromProcess(file, 100);
    expect(ids).toHaveLength(100);
    await waitFor(() => ended(ids), 120_000, "100 executions to end");
    await stopWorkers();
    for (const id of ids) {
      expect(await runtime.store.getExecution(id)).toMatchObject({ status: "succeeded", output: 42 });
    }
    const counts = effectsOf(effects);
    expect(counts.size).toBe(200);
    expect([...counts.values()].every((entry) => entry.count === 1)).toBe(true);
    const pids = new Set([...counts.values()].flatMap((entry) => [...entry.pids]));
    expect(pids.has(String(process.pid))).toBe(false);
    expect(pids.size).toBe(2);
  }, 180_000);

  it("runtime.run(flow) next to a worker without the functions: every execution succeeds", async () => {
    const effects = join(dir, "beside.effects");
    const flow = await loadModuleWorkflow(writeModule(join(dir, "beside.mjs"), "beside", "v1", effects));
    const plain = startWorker([]);
    await waitFor(() => plain.output.stderr.includes("started"), 20_000, "the worker to start");
    const runs = await Promise.all(Array.from({ length: 20 }, () => runtime.run(flow, {})));
    expect(runs.map((execution) => execution.status)).toEqual(runs.map(() => "succeeded"));
    expect(runs.every((execution) => execution.output === 42)).toBe(true);
    // Every body ran here, once; whatever the worker took needed no code.
    const counts = effectsOf(effects);
    expect(counts.size).toBe(40);
    expect([...counts.values()].every((e) => e.count === 1 && e.pids.has(String(process.pid)))).toBe(true);
    await stopWorkers();
    expect(plain.output.stderr).not.toMatch(/ (succeeded|failed|retrying) (parse|double) /);
  }, 120_000);

  it("a worker with an older version of the module does not run the new version's tasks", async () => {
    const effects = join(dir, "versions.effects");
    const oldDir = join(dir, "old");
    const newDir = join(dir, "new");
    mkdirSync(oldDir);
    mkdirSync(newDir);
    const oldFile = writeModule(join(oldDir, "report.mjs"), "report", "old", effects);
    const newFile = writeModule(join(newDir, "report.mjs"), "report", "new", effects);
    const oldWorker = startWorker(["--workflows", oldDir]);
    await waitFor(
      () => oldWorker.output.stderr.includes("runs the functions of report"),
      20_000,
      "old worker",
    );

    // The new version, started by `weft start FILE.mjs` (a process of its own), then the old one.
    const started = await runWeft(["start", newFile, "--store", fixture.url], { cwd: dir });
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    const newId = started.stdout.trim();
    const [oldId] = await startFromProcess(oldFile, 1);
    await waitFor(() => ended([oldId!]), 30_000, "the old version's execution");
    expect(await runtime.store.getExecution(oldId!)).toMatchObject({ status: "succeeded" });

    // The old worker ran the old execution, and left the new one's function task ready.
    const newExecution = (await runtime.store.getExecution(newId))!;
    expect(newExecution).toMatchObject({ status: "running", workflow: "report" });
    // Same spec, other functions: two versions (the new module was registered first).
    expect(newExecution.version).toBe(1);
    expect((await runtime.store.getExecution(oldId!))?.version).toBe(2);
    const parse = (await runtime.store.listRuns(newId)).find((run) => run.task === "parse")!;
    expect(parse).toMatchObject({ status: "ready", attempt: 0 });
    expect([...effectsOf(effects).keys()].some((key) => key.startsWith("new "))).toBe(false);
    const status = await runWeft(["status", newId, "--store", fixture.url], { cwd: dir });
    expect(status.stdout).toContain(`waiting for a worker that has report v${newExecution.version}`);

    // A worker with the new module carries it on.
    startWorker(["--workflows", newDir]);
    await waitFor(() => ended([newId]), 30_000, "the new version's execution");
    expect(await runtime.store.getExecution(newId)).toMatchObject({ status: "succeeded", output: 42 });
    const counts = effectsOf(effects);
    expect(counts.get(`new ${newId}/parse`)?.count).toBe(1);
    expect(counts.get(`old ${oldId}/parse`)?.count).toBe(1);
    await stopWorkers();
  }, 120_000);
});
