import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { WeftError } from "../shared/errors.js";
import { CliExit, ExitCode, processIO, type CliIO } from "./io.js";
import { registerExecutionCommands } from "./execution-commands.js";
import { registerHistoryCommands } from "./history-commands.js";
import { registerList } from "./list-command.js";
import { registerWorkflows } from "./workflows-command.js";
import { registerGraph } from "./graph-command.js";
import { registerRun } from "./run-command.js";
import { registerServer } from "./server-command.js";
import { registerStart } from "./start-command.js";
import { registerWorker } from "./worker-command.js";
import { registerValidate } from "./validate-command.js";
import { registerTraversalCommands } from "./traversal-commands.js";

/** This package's version, from the package.json beside dist/ and src/. */
const VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

/** Why the commands without `--server` have none, and what to do instead: said, not just refused. */
const NO_SERVER: Record<string, string> = {
  run: "it runs the workflow in this process; weft start FILE --server URL starts it on a server, weft watch ID follows it.",
  worker: "it works on the store itself; give --store URL (or $WEFT_STORE).",
  server: "it serves a store; give --store URL (or $WEFT_STORE).",
  validate: "it checks files here; nothing is stored.",
  graph: "it reads the file here; nothing is stored.",
};

/**
 * Runs the `weft` CLI with `argv` (without node and script) and resolves to the exit code.
 * Errors Weft raises on purpose print as one line; anything else prints as an internal error.
 */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = new Command("weft")
    .description("Weft: a durable workflow engine for DAGs of tasks.")
    .version(VERSION, "-V, --version", "print the version of weft")
    // `weft --version` only: `weft start NAME --version N` is the subcommand's own option.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(weft --help lists the commands)");
  const setExit = (code: number) => {
    exitCode = code;
  };
  registerRun(program, io, setExit);
  registerValidate(program, io, setExit);
  registerGraph(program, io, setExit);
  registerList(program, io);
  registerExecutionCommands(program, io, setExit);
  registerHistoryCommands(program, io, setExit);
  registerTraversalCommands(program, io, setExit);
  registerWorkflows(program, io);
  registerStart(program, io);
  registerWorker(program, io);
  registerServer(program, io);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors exit 2 (commander already printed the message).
      if (error.code === "commander.unknownOption" && /'--server'/.test(error.message)) {
        const hint = NO_SERVER[argv[0] ?? ""];
        if (hint) io.stderr(`weft ${argv[0]} does not call a server: ${hint}\n`);
      }
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.invalid;
    }
    if (error instanceof CliExit) {
      io.stderr(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof WeftError) {
      io.stderr(`weft: ${error.message}\n`);
      return ExitCode.invalid;
    }
    io.stderr(`weft: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (io.env.WEFT_DEBUG) io.stderr(`${error instanceof Error ? error.stack : ""}\n`);
    return ExitCode.failed;
  }
  return exitCode;
}
