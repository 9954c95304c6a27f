/**
 * `weft validate FILE...`: checks workflow files without running them. Exit 0 when all are valid
 * (`FILE: ok` on stdout for each), 2 otherwise (`file:line:col: message` lines on stderr).
 */
import type { Command } from "commander";
import { ExitCode, type CliIO } from "./io.js";
import { loadSpec, printDiagnostics } from "./load-spec.js";

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
      for (const file of files) {
        const result = await loadSpec(file, io);
        if (result.spec) {
          io.stdout(`${file}: ok\n`);
        } else {
          valid = false;
          printDiagnostics(io, result.diagnostics);
        }
      }
      setExit(valid ? ExitCode.ok : ExitCode.invalid);
    });
}
