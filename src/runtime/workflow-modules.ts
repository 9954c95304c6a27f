/**
 * Loading code-first workflows: a module's exports (named, default, arrays of them) that are
 * builder workflows, and a `--workflows` directory's modules and YAML/JSON files. A builder
 * workflow is recognised by its shape (a name, a spec and a Map of functions), not `instanceof`:
 * the user's module may import Weft from another copy of the package than the CLI runs.
 */
import { readdir } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DefinitionError, formatDiagnostic, loadWorkflowFile } from "../definition/index.js";
import type { WorkflowSpec } from "../definition/spec.js";
import { WeftError } from "../shared/errors.js";
import type { TaskFunction } from "../worker/task-runner.js";

/** A builder workflow as found in a module: what `runtime.run`, `start` and `startWorker` take. */
export interface CodeWorkflow {
  readonly name: string;
  readonly spec: WorkflowSpec;
  readonly functions: ReadonlyMap<string, TaskFunction>;
}

/** One workflow a module exports, with the export it came from (`default` for the default export). */
export interface ExportedWorkflow {
  exportName: string;
  workflow: CodeWorkflow;
}

/** A module that cannot be imported, exports no workflow, or lacks the export asked for. */
export class WorkflowModuleError extends WeftError {
  constructor(message: string) {
    super("WORKFLOW_MODULE_INVALID", message);
  }
}

/** Extensions imported as modules by `weft run/start FILE`; `.ts` needs a loader (see below). */
export const MODULE_EXTENSIONS = [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"];
/** What `--workflows DIR` imports: what Node runs without a loader. */
const DIR_MODULE_EXTENSIONS = [".js", ".mjs"];
const DEFINITION_EXTENSIONS = [".yaml", ".yml", ".json"];

/** True for a file `weft run`/`weft start` imports rather than parses. */
export function isModuleFile(file: string): boolean {
  return MODULE_EXTENSIONS.includes(extname(file));
}

function isCodeWorkflow(value: unknown): value is CodeWorkflow {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<CodeWorkflow>;
  return typeof candidate.name === "string" && candidate.functions instanceof Map && "spec" in candidate;
}

/** The builder workflows among a module's exports, each once, in export-name order (a namespace's). */
function collect(namespace: Record<string, unknown>): ExportedWorkflow[] {
  const found: ExportedWorkflow[] = [];
  const seen = new Set<unknown>();
  const add = (exportName: string, value: unknown) => {
    if (!isCodeWorkflow(value) || seen.has(value)) return;
    seen.add(value);
    found.push({ exportName, workflow: value });
  };
  for (const [exportName, value] of Object.entries(namespace)) {
    if (Array.isArray(value)) for (const item of value) add(exportName, item);
    else add(exportName, value);
  }
  return found;
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_UNKNOWN_FILE_EXTENSION")
      throw new WorkflowModuleError(
        `Cannot import "${file}": Node runs TypeScript only through a loader. Build it to .js, or run ` +
          `weft under tsx: node --import tsx node_modules/.bin/weft ...`,
      );
    if (error instanceof DefinitionError)
      throw new WorkflowModuleError(
        `"${file}" defines an invalid workflow:\n${error.diagnostics.map(formatDiagnostic).join("\n")}`,
      );
    throw new WorkflowModuleError(
      `Cannot import "${file}": ${error instanceof Error ? error.message : String(error)}.`,
    );
  }
}

/**
 * The builder workflows `file` exports, each compiled once (so a bad one is reported here, by
 * file). Answers an empty list for a module without any; throws WorkflowModuleError when the
 * module cannot be imported or one of its workflows is invalid.
 */
export async function loadModuleWorkflows(file: string): Promise<ExportedWorkflow[]> {
  const found = collect(await importModule(file));
  for (const { exportName, workflow } of found) {
    try {
      void workflow.spec;
    } catch (error) {
      if (!(error instanceof DefinitionError)) throw error;
      throw new WorkflowModuleError(
        `"${file}" export "${exportName}" (workflow "${workflow.name}") is invalid:\n` +
          error.diagnostics.map(formatDiagnostic).join("\n"),
      );
    }
  }
  return found;
}

/**
 * The one workflow of `file` to run or start: the export named `exportName` (a workflow, or an
 * array holding exactly one), else the module's only workflow. Refuses a module with none, or
 * with several and no `exportName`, naming what it found.
 *
 * @example
 * const flow = await loadModuleWorkflow("flows/etl.mjs", "etl");
 */
export async function loadModuleWorkflow(file: string, exportName?: string): Promise<CodeWorkflow> {
  const found = await loadModuleWorkflows(file);
  const names = found.map((entry) => `${entry.exportName} (workflow "${entry.workflow.name}")`).join(", ");
  const picked = exportName === undefined ? found : found.filter((entry) => entry.exportName === exportName);
  if (found.length === 0)
    throw new WorkflowModuleError(
      `"${file}" exports no builder workflow: export one, e.g. export const etl = workflow("etl").task(...).`,
    );
  if (picked.length === 0)
    throw new WorkflowModuleError(`"${file}" has no workflow export "${exportName}"; it exports ${names}.`);
  if (picked.length > 1)
    throw new WorkflowModuleError(
      exportName === undefined
        ? `"${file}" exports ${found.length} workflows: ${names}. Pick one with --export NAME.`
        : `"${file}" export "${exportName}" holds ${picked.length} workflows: export them one per name.`,
    );
  return picked[0]!.workflow;
}

/** What a `--workflows` directory holds: builder workflows by file, and the definition files. */
export interface WorkflowsDir {
  workflows: { file: string; exportName: string; workflow: CodeWorkflow }[];
  /** YAML/JSON workflows: valid ones need no loading to run (any worker claims them). */
  definitions: { file: string; spec: WorkflowSpec }[];
  /** YAML/JSON files that are not valid workflows (a package.json, a broken file): skipped. */
  skipped: { file: string; reason: string }[];
}

/**
 * Loads every `.js`/`.mjs` module (its builder workflows; a module without any, such as a `js`
 * action, is fine) and every YAML/JSON file of `dir`, not recursively, in name order. A module
 * that fails to import stops the load: a worker silently lacking its functions would leave
 * their runs waiting for nobody.
 */
export async function loadWorkflowsDir(dir: string): Promise<WorkflowsDir> {
  const root = resolve(dir);
  let entries: string[];
  try {
    entries = (await readdir(root, { withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    throw new WorkflowModuleError(
      `Cannot read the --workflows directory "${root}": ${(error as Error).message}.`,
    );
  }
  const result: WorkflowsDir = { workflows: [], definitions: [], skipped: [] };
  for (const name of entries) {
    const file = join(root, name);
    const extension = extname(name);
    if (DIR_MODULE_EXTENSIONS.includes(extension)) {
      for (const found of await loadModuleWorkflows(file)) result.workflows.push({ file, ...found });
    } else if (DEFINITION_EXTENSIONS.includes(extension)) {
      try {
        result.definitions.push({ file, spec: await loadWorkflowFile(file) });
      } catch (error) {
        if (!(error instanceof DefinitionError)) throw error;
        result.skipped.push({ file, reason: formatDiagnostic(error.diagnostics[0]!) });
      }
    }
  }
  return result;
}
