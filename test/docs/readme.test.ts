/**
 * Every ```yaml and ```ts block of README.md runs as written: a newcomer copies them first, so a
 * block that no longer runs is a bug. A block that is only a piece of a workflow (a task, say) is
 * marked by a `<!-- fragment -->` line before it; a fragment must still parse.
 *
 * YAML workflows are checked by `weft validate` and run to the end by `weft run` in a directory
 * holding a copy of examples/tasks.mjs (the README points at examples/ for the `js` modules); a
 * delegate task the run waits for is completed with the very command `weft run` prints.
 * TypeScript blocks are type-checked by tsc (strict) and run with tsx in a project whose `node_modules/weft` is this repository, so
 * `import ... from "weft"` resolves to the built package as it would after `npm install weft`.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const TSC = join(ROOT, "node_modules", ".bin", "tsc");
const FRAGMENT = "<!-- fragment -->";

interface Block {
  lang: "yaml" | "ts";
  /** 1-based line of the opening fence, for the test's name. */
  line: number;
  code: string;
  fragment: boolean;
}

/** The fenced yaml and ts blocks of a Markdown text, in order. */
function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block is never closed.`);
    const lang = open[1]!;
    if (lang === "yaml" || lang === "ts") {
      let previous = i - 1;
      while (previous >= 0 && lines[previous]!.trim() === "") previous--;
      blocks.push({
        lang,
        line: i + 1,
        code: `${lines.slice(i + 1, end).join("\n")}\n`,
        fragment: previous >= 0 && lines[previous]!.trim() === FRAGMENT,
      });
    }
    i = end;
  }
  return blocks;
}

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const blocks = extractBlocks(README);

/** `weft complete --execution ID --task NAME`, as `weft run` prints it for a waiting delegate. */
const COMPLETE_HINT = /'weft complete --execution (\S+) --task (\S+)'/g;

async function runYamlWorkflow(code: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "weft-readme-"));
  copyFileSync(join(ROOT, "examples", "tasks.mjs"), join(dir, "tasks.mjs"));
  writeFileSync(join(dir, "flow.yaml"), code);
  const store = `sqlite:${join(dir, "weft.db")}`;

  const validated = await runWeft(["validate", "flow.yaml"], { cwd: dir });
  expect(validated.stderr).toBe("");
  expect(validated.code).toBe(0);

  const run = startWeft(["run", "flow.yaml", "--store", store], { cwd: dir });
  const completed = new Set<string>();
  let finished = false;
  void run.done.then(() => (finished = true));
  // Completes each delegate the run waits for, until the run ends.
  await waitFor(
    async () => {
      for (const [, id, task] of run.output.stderr.matchAll(COMPLETE_HINT)) {
        if (completed.has(`${id}/${task}`)) continue;
        completed.add(`${id}/${task}`);
        const done = await runWeft(["complete", "--execution", id!, "--task", task!, "--store", store], {
          cwd: dir,
        });
        expect(done.stderr).toContain(`task "${task}" of execution ${id}: completed`);
      }
      return finished;
    },
    60_000,
    "weft run to end",
  );
  const result = await run.done;
  expect(result.stderr).toMatch(/: succeeded\n/);
  expect(result.code).toBe(0);
}

function spawnTool(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function runTypeScript(code: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "weft-readme-ts-"));
  // A user's ESM project (top-level await needs it) with weft installed.
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "weft"), "dir");
  writeFileSync(join(dir, "block.ts"), code);
  // Type-checked as a strict user project would (tsx alone only strips the types).
  const checked = await spawnTool(
    TSC,
    [
      ...["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext"],
      ...[
        "--target",
        "es2022",
        "--skipLibCheck",
        "--types",
        "node",
        "--typeRoots",
        join(ROOT, "node_modules", "@types"),
      ],
      "block.ts",
    ],
    dir,
  );
  expect(checked.stdout).toBe("");
  expect(checked.code).toBe(0);
  const result = await spawnTool(TSX, ["block.ts"], dir);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  // Whatever the block ran on the default store ended well.
  const list = await runWeft(["list", "--json", "--store", "sqlite:.weft/weft.db"], { cwd: dir });
  expect(list.code).toBe(0);
  const executions = JSON.parse(list.stdout) as { status: string }[];
  for (const execution of executions) expect(execution.status).toBe("succeeded");
}

describe("README.md", () => {
  it("has runnable yaml and ts blocks (the extraction finds them)", () => {
    expect(blocks.filter((b) => b.lang === "yaml" && !b.fragment).length).toBeGreaterThan(0);
    expect(blocks.filter((b) => b.lang === "ts" && !b.fragment).length).toBeGreaterThan(0);
  });

  for (const block of blocks) {
    const name = `${block.lang} block at README.md:${block.line}${block.fragment ? " (fragment)" : ""}`;
    if (block.fragment) {
      it(`${name} parses`, () => {
        if (block.lang === "yaml") expect(() => parse(block.code) as unknown).not.toThrow();
        else expect(block.code.trim()).not.toBe("");
      });
    } else if (block.lang === "yaml") {
      it(`${name} validates and runs to success`, () => runYamlWorkflow(block.code), 90_000);
    } else {
      it(
        `${name} type-checks and runs with tsx against the built package`,
        () => runTypeScript(block.code),
        90_000,
      );
    }
  }
});
