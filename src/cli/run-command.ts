import { resolve } from "node:path";
import type { Command } from "commander";
import { loadWorkflowFile } from "../definition/index.js";
import type { WorkflowSpec } from "../definition/spec.js";
import { coerceInput } from "../engine/inputs.js";
import { createRuntime, type Runnable } from "../runtime/runtime.js";
import { isModuleFile, loadModuleWorkflow } from "../runtime/workflow-modules.js";
import { InvalidInputError } from "../shared/errors.js";
import { ExitCode, stderrLogger, type CliIO } from "./io.js";
import { explainInterrupt } from "./interrupt.js";
import { Progress } from "./progress.js";
import { reportOf, formatReport } from "../runtime/report.js";
import { storeUrl, withStoreOption } from "./store-option.js";

interface RunOptions {
  /** `-i name=value`, repeated. */
  i?: string[];
  /** `--input JSON` */
  input?: string;
  store?: string;
  concurrency?: string;
  json?: boolean;
  export?: string;
}

/** Merges `--input JSON` and every `-i name=value` (the latter win) into one input object. */
export function parseInputs(
  spec: WorkflowSpec,
  options: { i?: string[]; input?: string },
): Record<string, unknown> {
  let input: Record<string, unknown> = {};
  if (options.input !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.input);
    } catch (error) {
      throw new InvalidInputError(
        `--input is not valid JSON: ${error instanceof Error ? error.message : String(error)}.`,
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new InvalidInputError("--input must be a JSON object, for example --input '{\"count\": 3}'.");
    }
    input = parsed as Record<string, unknown>;
  }
  for (const pair of options.i ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new InvalidInputError(`-i expects name=value, got "${pair}".`);
    const name = pair.slice(0, eq);
    input[name] = coerceInput(spec, name, pair.slice(eq + 1));
  }
  return input;
}

/** Commander's way to repeat an option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseConcurrency(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidInputError(`--concurrency must be a whole number >= 1, got "${text}".`);
  return value;
}

export function registerRun(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withStoreOption(
    program
      .command("run")
      .description("run a workflow file to the end on the embedded store (or --store)")
      .argument("<file>", "workflow file (YAML or JSON), or a .js/.mjs module exporting builder workflows")
      .option("--export <name>", "with a module: the export holding the workflow (default: its only one)")
      .option("-i <name=value>", "an input value, read as its declared type (repeatable)", collect)
      .option("--input <json>", "inputs as one JSON object (-i values win)")
      .option("--concurrency <n>", "task runs at once (default 8)")
      .option("--json", "print one JSON object with the result"),
  ).action(async (file: string, options: RunOptions) => {
    const path = resolve(io.cwd, file);
    const isModule = isModuleFile(path);
    if (options.export !== undefined && !isModule)
      throw new InvalidInputError(
        `--export picks a workflow of a .js/.mjs module, but "${file}" is not one.`,
      );
    const workflow: Runnable = isModule
      ? await loadModuleWorkflow(path, options.export)
      : await loadWorkflowFile(path);
    const spec = "spec" in workflow ? workflow.spec : workflow;
    const input = parseInputs(spec, options);
    const concurrency = parseConcurrency(options.concurrency);
    const progress = options.json ? null : new Progress(io, Object.keys(spec.tasks).length);
    const runtime = await createRuntime({
      store: storeUrl(options, io),
      concurrency,
      logger: stderrLogger(io),
      baseDir: path.replace(/\/[^/]*$/, "") || "/",
      onEvents: (events) => progress?.onEvents(events),
    });
    let stopExplaining = () => {};
    try {
      const execution = await runtime.run(workflow, input, {
        onStarted: (started) => {
          io.stderr(`execution ${started.id} started\n`);
          stopExplaining = explainInterrupt(io, started.id, options.store);
        },
      });
      progress?.stop();
      const report = await reportOf(runtime.store, execution);
      if (options.json) io.stdout(`${JSON.stringify(report)}\n`);
      else {
        io.stderr(formatReport(report));
        if (execution.status === "succeeded")
          io.stdout(`${JSON.stringify(execution.output ?? null, null, 2)}\n`);
      }
      setExit(execution.status === "succeeded" ? ExitCode.ok : ExitCode.failed);
    } finally {
      stopExplaining();
      progress?.stop();
      await runtime.close();
    }
  });
}
