/**
 * `weft validate FILE...`: checks workflow files without running them. Exit 0 when all are valid
 * (`FILE: ok` on stdout for each), 2 otherwise (`file:line:col: message` lines on stderr).
 */
import type { Command } from "commander";
import { ExitCode, type CliIO } from "./io.js";
import { loadSpec, printDiagnostics } from "./load-spec.js";
import type { WorkflowSpec } from "../definition/spec.js";
import { subflowCycle } from "../definition/subflow-references.js";

/**
 * Registers `validate` on the program. Every file is checked, even after an invalid one, so a
 * single run reports all problems.
 *
 * @example
 * registerValidate(program, io, (code) => { exitCode = code; });
 * // weft validate examples/*.yaml
 */
export function registerValidate(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command("validate")
    .description(
      "Check workflow files (YAML or JSON) and print every problem with its file, line and column.",
    )
    .argument("<file...>", "workflow files to check")
    .action(async (files: string[]) => {
      let valid = true;
      const loaded: [string, WorkflowSpec][] = [];
      for (const file of files) {
        const result = await loadSpec(file, io);
        if (result.spec) loaded.push([file, result.spec]);
        else {
          valid = false;
          printDiagnostics(io, result.diagnostics);
        }
      }
      // The files given together are a registry of their own: a chain of literal sub-workflows
      // among them that leads back to where it started is refused, as registration would.
      const byName = new Map(loaded.map(([, spec]) => [spec.name, spec]));
      for (const [file, spec] of loaded) {
        const cycle = await subflowCycle(spec, (name) => byName.get(name));
        if (cycle) {
          valid = false;
          io.stderr(
            `${file}: workflow "${spec.name}" starts itself through its sub-workflows: ${cycle.join(" -> ")}\n`,
          );
        } else io.stdout(`${file}: ok\n`);
      }
      setExit(valid ? ExitCode.ok : ExitCode.invalid);
    });
}
