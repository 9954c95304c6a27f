/**
 * Loading workflow files: YAML or JSON text (JSON is YAML) to a validated `WorkflowSpec`, with every
 * problem reported as `file:line:col: message`.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { DEFINITION_DEPTH_LIMIT, MAX_DEFINITION_DEPTH, tooDeepMessage, yamlDepthBound } from "./depth.js";
import {
  capDiagnostics,
  DefinitionError,
  sortDiagnostics,
  type Diagnostic,
  type Problem,
} from "./diagnostics.js";
import { jsModuleProblems } from "./js-modules.js";
import { parseJsonDefinition } from "./json-source.js";
import { compileSource, unplacedDiagnostics, type CompileResult } from "./pipeline.js";
import { SourcePositions } from "./positions.js";
import { workflowSchema } from "./schema.js";
import type { WorkflowSpec } from "./spec.js";

interface Analysis {
  spec?: WorkflowSpec;
  diagnostics: Diagnostic[];
}

/**
 * `baseDir`, when known (a file on disk), is where `js` modules resolve: literal module paths are
 * then checked too (js-modules.ts).
 */
function analyze(source: string, file: string, baseDir?: string): Analysis {
  const json = parseJsonDefinition(source);
  if (json?.tooDeep) return tooDeep(file);
  if (json !== undefined) {
    const result = compileSource(json.data, workflowSchema);
    if (result.spec) {
      const modules = baseDir === undefined ? [] : jsModuleProblems(result.spec, baseDir);
      if (modules.length === 0) return { spec: result.spec, diagnostics: [] };
      return analyzeYaml(source, file, modules);
    }
    // Invalid: parse again as YAML, for positions only. The depth was measured already.
    return analyzeYaml(source, file, result.problems);
  }
  // The YAML parser recurses per nesting level: measure before parsing (see depth.ts).
  if (yamlDepthBound(source) > MAX_DEFINITION_DEPTH) return tooDeep(file);
  return analyzeYaml(source, file, undefined, baseDir);
}

function tooDeep(file: string): Analysis {
  return {
    diagnostics: [
      {
        file,
        line: 1,
        col: 1,
        // The sentence the HTTP API answers for the same body.
        message: tooDeepMessage("the definition", DEFINITION_DEPTH_LIMIT).slice(0, -1),
      },
    ],
  };
}

/**
 * Checks a YAML text, or with `known`, only places the problems the JSON way found (the YAML
 * parser reads the same values from a JSON text, so checking them again would find the same).
 */
function analyzeYaml(source: string, file: string, known?: readonly Problem[], baseDir?: string): Analysis {
  const lineCounter = new LineCounter();
  // Duplicate keys (a task name written twice) are found by SourcePositions, in linear time.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const positions = new SourcePositions(file, doc, lineCounter);
  const yaml = positions.yamlErrors();
  // Valid JSON the YAML parser refuses (a key past its 1,024 characters): the problems, unplaced.
  if (known !== undefined && yaml.fatal) return { diagnostics: unplacedDiagnostics(known, file) };
  if (yaml.fatal) return { diagnostics: capDiagnostics(sortDiagnostics(yaml.diagnostics)) };
  if (known !== undefined)
    return { diagnostics: capDiagnostics(sortDiagnostics(known.map((p) => positions.locate(p)))) };
  let result: CompileResult;
  try {
    result = compileSource(doc.toJS(), workflowSchema);
  } catch (error) {
    // toJS refuses alias bombs ("billion laughs"): report it like any other problem.
    const message = error instanceof Error ? error.message : String(error);
    return { diagnostics: [...yaml.diagnostics, positions.at(0, `invalid YAML: ${message}`)] };
  }
  const problems =
    result.spec && baseDir !== undefined ? jsModuleProblems(result.spec, baseDir) : result.problems;
  const diagnostics = capDiagnostics(
    sortDiagnostics([...yaml.diagnostics, ...problems.map((p) => positions.locate(p))]),
  );
  return diagnostics.length === 0 && result.spec ? { spec: result.spec, diagnostics } : { diagnostics };
}

/**
 * Every problem of a workflow file's text, sorted by position; empty when it is valid.
 *
 * @example
 * validateWorkflowSource("name: x\ntasks: {}\n", "x.yaml") // [{ file: "x.yaml", line: 2, col: 8, message: ... }]
 */
export function validateWorkflowSource(source: string, file: string): Diagnostic[] {
  return analyze(source, file).diagnostics;
}

/**
 * Parses, validates and compiles a workflow file's text. `file` only names it in diagnostics.
 * Throws `DefinitionError` with every problem found.
 *
 * @example
 * const spec = parseWorkflow(await readFile("etl.yaml", "utf8"), "etl.yaml");
 */
export function parseWorkflow(source: string, file: string): WorkflowSpec {
  const { spec, diagnostics } = analyze(source, file);
  if (spec === undefined) throw new DefinitionError(diagnostics);
  return spec;
}

/**
 * Reads and parses a workflow file (YAML or JSON). `path` is resolved against `options.cwd`
 * (default: the process's) and named as given in diagnostics. A file that cannot be read is a
 * `DefinitionError` too, with a diagnostic without position (line 0).
 *
 * @example
 * const spec = await loadWorkflowFile("examples/etl.yaml");
 */
export async function loadWorkflowFile(path: string, options: { cwd?: string } = {}): Promise<WorkflowSpec> {
  let source: string;
  try {
    source = await readFile(resolve(options.cwd ?? process.cwd(), path), "utf8");
  } catch (error) {
    throw new DefinitionError([{ file: path, line: 0, col: 0, message: readProblem(error) }]);
  }
  const { spec, diagnostics } = analyze(source, path, dirname(resolve(options.cwd ?? process.cwd(), path)));
  if (spec === undefined) throw new DefinitionError(diagnostics);
  return spec;
}

function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "cannot read the workflow file: it does not exist";
  if (code === "EISDIR") return "cannot read the workflow file: it is a directory";
  if (code === "EACCES") return "cannot read the workflow file: permission denied";
  return `cannot read the workflow file: ${error instanceof Error ? error.message : String(error)}`;
}
