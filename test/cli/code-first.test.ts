/**
 * Code-first workflows through the CLI, as real processes on a real SQLite file: `weft run` and
 * `weft start` take a module exporting builder workflows, and a module that is not one (or has
 * several, or cannot be imported) is refused with a message naming the file and what it found.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

const BUILDER = JSON.stringify(pathToFileURL(join(process.cwd(), "dist/definition/builder.js")).href);
let dir = "";
let store = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-codefirst-cli-"));
  store = `sqlite:${join(dir, "weft.db")}`;
});

const weft = (...args: string[]) => runWeft([...args, "--store", store], { cwd: dir });

/** Writes `name` in the test's directory with `body` after the builder's import. */
function module(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import { workflow } from ${BUILDER};\n${body}\n`);
  return file;
}

const TWO = `
export const double = workflow("double", { inputs: { n: { type: "number", default: 2 } }, output: "\${{ tasks.x2.output }}" })
  .task("x2", {}, (_deps, ctx) => ctx.inputs.n * 2);
export default [workflow("triple", { output: "\${{ tasks.x3.output }}" }).task("x3", {}, () => 9)];
`;

describe("weft run/start with a module", () => {
  it("runs a module's only workflow, and picks one of several with --export", async () => {
    module("one.mjs", `export const flow = workflow("one").task("a", {}, () => ({ ok: 1 }));`);
    const one = await weft("run", "one.mjs", "--json");
    expect(one.stderr).not.toContain("error");
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ workflow: "one", status: "succeeded" });

    module("two.mjs", TWO);
    const doubled = await weft("run", "two.mjs", "--export", "double", "-i", "n=21", "--json");
    expect(JSON.parse(doubled.stdout)).toMatchObject({ workflow: "double", output: 42 });
    const tripled = await weft("run", "two.mjs", "--export", "default", "--json");
    expect(JSON.parse(tripled.stdout)).toMatchObject({ workflow: "triple", output: 9 });
  });

  it("refuses a module with several workflows and no --export, naming them", async () => {
    module("two.mjs", TWO);
    const result = await weft("run", "two.mjs");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("exports 2 workflows");
    // A module namespace lists its exports in name order.
    expect(result.stderr).toContain('default (workflow "triple"), double (workflow "double")');
    expect(result.stderr).toContain("--export NAME");
    const missing = await weft("start", "two.mjs", "--export", "nope");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('has no workflow export "nope"');
  });

  it("refuses a module without workflows, one that does not import, and .ts without a loader", async () => {
    module("none.mjs", "export const answer = 42;");
    const none = await weft("run", "none.mjs");
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/none\.mjs" exports no builder workflow/);
    writeFileSync(join(dir, "broken.mjs"), "export const = ;\n");
    const broken = await weft("start", "broken.mjs");
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/Cannot import ".*broken\.mjs"/);
    writeFileSync(join(dir, "flow.ts"), "export const x: number = 1;\n");
    const ts = await weft("run", "flow.ts");
    expect(ts.code).toBe(2);
    expect(ts.stderr).toContain("node --import tsx");
    for (const result of [none, broken, ts]) expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses --export on a YAML file and a module over --server", async () => {
    writeFileSync(join(dir, "hello.yaml"), "name: hello\ntasks:\n  hi:\n    action: noop\n");
    const yaml = await weft("run", "hello.yaml", "--export", "x");
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toContain("--export picks a workflow of a .js/.mjs module");
    module("one.mjs", `export const flow = workflow("one").task("a", {}, () => 1);`);
    const remote = await runWeft(["start", "one.mjs", "--server", "http://127.0.0.1:9"], { cwd: dir });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain("its functions cannot travel over HTTP");
  });

  it("starts a module's workflow that only a worker loading the module runs; status says what it waits for", async () => {
    const flows = join(dir, "flows");
    mkdirSync(flows);
    writeFileSync(
      join(flows, "one.mjs"),
      `import { workflow } from ${BUILDER};\nexport const flow = workflow("one", { output: "\${{ tasks.a.output }}" }).task("a", {}, () => 7);\n`,
    );
    const started = await weft("start", join(flows, "one.mjs"));
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    const waiting = await weft("status", id);
    expect(waiting.stdout).toContain("waiting for a worker that has one v1");

    // A worker without the module leaves it; one with it runs it.
    const plain = startWeft(["worker", "--store", store, "--concurrency", "1"], { cwd: dir });
    await waitFor(() => plain.output.stderr.includes("started"), 20_000, "a plain worker");
    const withModule = startWeft(["worker", "--store", store, "--workflows", flows], { cwd: dir });
    await waitFor(
      async () => JSON.parse((await weft("status", id, "--json")).stdout).status === "succeeded",
      20_000,
      "the execution to succeed",
    );
    for (const worker of [plain, withModule]) worker.child.kill("SIGTERM");
    await Promise.all([plain.done, withModule.done]);
    expect(plain.output.stderr).not.toContain("succeeded a");
    expect(withModule.output.stderr).toContain("succeeded a");
    const done = await weft("status", id);
    expect(done.stdout).not.toContain("waiting for");
  });
});
