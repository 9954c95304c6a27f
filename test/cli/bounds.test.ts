/**
 * The CLI, as a real process, on input past Weft's bounds: each is refused with one sentence and
 * exit 2, never `internal error: Maximum call stack size exceeded`.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { runWeft } from "../helpers/cli.js";

let dir = "";
let store = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-bounds-"));
  store = `sqlite:${join(dir, "weft.db")}`;
});

const weft = (...args: string[]) => runWeft(args, { cwd: dir });
const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

const FLOW =
  'name: echo-input\ninputs:\n  x: { type: array }\ntasks:\n  a: { action: echo, with: { message: "${{ inputs.x }}" } }\n';

describe("input nested 5,000 deep", () => {
  const refused = 'weft: The input of workflow "echo-input" nests deeper than 100 levels: flatten it.\n';

  it("is refused from --input, as the HTTP API refuses such a body", async () => {
    const result = await weft(
      "run",
      file("flow.yaml", FLOW),
      "--input",
      `{"x": ${nested(5000)}}`,
      "--store",
      store,
    );
    expect(result.stderr).toBe(refused);
    expect(result.code).toBe(2);
  });

  it("is refused from -i", async () => {
    const result = await weft("run", file("flow.yaml", FLOW), "-i", `x=${nested(5000)}`, "--store", store);
    expect(result.stderr).toBe(refused);
    expect(result.code).toBe(2);
  });

  it("is accepted up to the limit", async () => {
    const result = await weft(
      "run",
      file("flow.yaml", FLOW),
      "-i",
      `x=${nested(99)}`,
      "--json",
      "--store",
      store,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).status).toBe("succeeded");
  });

  it("is refused in a workflow file, YAML or JSON, at 1:1", async () => {
    const yaml = file(
      "deep.yaml",
      `name: deep\ntasks:\n  a:\n    action: echo\n    with: { message: ${nested(5000)} }\n`,
    );
    const json = file(
      "deep.json",
      `{"name": "deep", "tasks": {"a": {"action": "echo", "with": {"message": ${nested(5000)}}}}}`,
    );
    const result = await weft("validate", yaml, json);
    expect(result.stderr).toBe(
      [yaml, json]
        .map(
          (name) =>
            `${name}:1:1: the definition nests deeper than 200 levels of indentation and brackets: flatten it\n`,
        )
        .join(""),
    );
    expect(result.code).toBe(2);
  });
});

describe("durations past 365 days", () => {
  it("are refused by weft validate at their line and column", async () => {
    const flow = file(
      "long.yaml",
      "name: long\ntasks:\n  wait:\n    action: delegate\n    timeout: 999999999999d\n",
    );
    const result = await weft("validate", flow);
    expect(result.stderr).toBe(
      'long.yaml:5:14: task "wait": "timeout" is "999999999999d", expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)\n',
    );
    expect(result.code).toBe(2);
  });
});
