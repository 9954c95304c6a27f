/**
 * Loading workflow files for CLI commands: paths relative to the command's working directory,
 * problems as `file:line:col: message` lines on stderr, never a stack trace.
 */
import { DefinitionError, formatDiagnostic, loadWorkflowFile, type Diagnostic } from "../definition/index.js";
import type { WorkflowSpec } from "../definition/spec.js";
import type { CliIO } from "./io.js";

/** A loaded spec, or the diagnostics that say why the file is not one. */
export type LoadResult =
  { spec: WorkflowSpec; diagnostics?: undefined } | { spec?: undefined; diagnostics: readonly Diagnostic[] };

/**
 * Loads and validates `file` (resolved against `io.cwd`). Only definition problems are caught;
 * anything else is a bug and reaches main's internal-error handler.
 *
 * @example
 * const result = await loadSpec("flow.yaml", io);
 * if (result.diagnostics) printDiagnostics(io, result.diagnostics);
 */
export async function loadSpec(file: string, io: CliIO): Promise<LoadResult> {
  try {
    return { spec: await loadWorkflowFile(file, { cwd: io.cwd }) };
  } catch (error) {
    if (error instanceof DefinitionError) return { diagnostics: error.diagnostics };
    throw error;
  }
}

/** Prints diagnostics on stderr, one `file:line:col: message` line each. */
export function printDiagnostics(io: CliIO, diagnostics: readonly Diagnostic[]): void {
  for (const diagnostic of diagnostics) io.stderr(`${formatDiagnostic(diagnostic)}\n`);
}
