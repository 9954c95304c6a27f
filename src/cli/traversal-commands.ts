/**
 * `weft update ID FILE`, `weft rollback ID` and `weft undo ID`: change an execution, running or
 * ended, by a new traversal (see engine/traversals.ts). Like `weft run`, each works on the new
 * traversal in this process until the execution ends (other processes may work on it too);
 * `--detach` only records it for workers, and over `--server` the server's workers run it.
 */
import type { Command } from "commander";
import type { WorkflowSpec } from "../definition/spec.js";
import type { ExecutionRecord } from "../engine/store.js";
import { createRuntime, type Runtime, type TraversalRunOptions } from "../runtime/runtime.js";
import { reportOf, formatReport, type ExecutionReport } from "../runtime/report.js";
import { apiPath, callApi, serverTarget, withServerOption, type ServerTarget } from "./client.js";
import { ExitCode, stderrLogger, type CliIO } from "./io.js";
import { loadSpec, printDiagnostics } from "./load-spec.js";
import { Progress } from "./progress.js";
import { collect, parseConcurrency, parseInputs } from "./run-command.js";
import { storeUrl, withStoreOption } from "./store-option.js";

interface TraversalCommandOptions {
  store?: string;
  server?: string;
  token?: string;
  concurrency?: string;
  json?: boolean;
  detach?: boolean;
}

/** The options every one of the three commands takes. */
function traversalCommand(command: Command): Command {
  return withServerOption(
    withStoreOption(
      command
        .option("--detach", "only record the new traversal: workers run it (like weft start)")
        .option("--concurrency <n>", "task runs at once here (default 8)")
        .option("--json", "print one JSON object with the result"),
    ),
    { token: true },
  );
}

export function registerTraversalCommands(
  program: Command,
  io: CliIO,
  setExit: (code: number) => void,
): void {
  /** Runs `start` on a runtime over the store (or asks the server), then prints the outcome. */
  async function traverse(
    id: string,
    options: TraversalCommandOptions,
    what: string,
    total: number,
    overHttp: { path: string; body?: unknown },
    start: (runtime: Runtime, runOptions: TraversalRunOptions) => Promise<ExecutionRecord>,
  ): Promise<void> {
    const server = serverTarget(options, io);
    if (server) return printReport(await callServer(server, id, overHttp), options, what, true);
    const progress = options.json || options.detach ? null : new Progress(io, total);
    const runtime = await createRuntime({
      store: storeUrl(options, io),
      concurrency: parseConcurrency(options.concurrency),
      logger: stderrLogger(io),
      onEvents: (events) => progress?.onEvents(events),
    });
    try {
      const execution = await start(runtime, {
        detach: options.detach,
        onStarted: (started) =>
          io.stderr(`execution ${started.id}: ${what} started (traversal ${started.traversal})\n`),
      });
      progress?.stop();
      const report = await reportOf(runtime.store, execution);
      printReport(report, options, what, options.detach ?? false);
    } finally {
      progress?.stop();
      await runtime.close();
    }
  }

  function printReport(
    report: ExecutionReport,
    options: TraversalCommandOptions,
    what: string,
    detached: boolean,
  ) {
    if (options.json) io.stdout(`${JSON.stringify(report)}\n`);
    else io.stderr(formatReport(report));
    if (detached) {
      io.stderr(`the ${what} is recorded: workers run it (weft watch ${report.id} follows it)\n`);
      return;
    }
    setExit(report.status === "succeeded" || report.status === "undone" ? ExitCode.ok : ExitCode.failed);
  }

  traversalCommand(
    program
      .command("update")
      .description(
        "converge an execution (running or ended) on a changed definition: changed tasks run, the rest is reused",
      )
      .argument("<id>")
      .argument("<file>", "the new definition (YAML or JSON) of the same workflow")
      .option("-i <name=value>", "a new input value (repeatable); default: the execution's input", collect)
      .option("--input <json>", "a new input as one JSON object (-i values win)")
      .option("--rollback-on-failure", "roll back at once if the update fails"),
  ).action(
    async (
      id: string,
      file: string,
      options: TraversalCommandOptions & { i?: string[]; input?: string; rollbackOnFailure?: boolean },
    ) => {
      const loaded = await loadSpec(file, io);
      if (loaded.diagnostics) {
        printDiagnostics(io, loaded.diagnostics);
        setExit(ExitCode.invalid);
        return;
      }
      const spec: WorkflowSpec = loaded.spec;
      const given = options.input !== undefined || (options.i ?? []).length > 0;
      const input = given ? parseInputs(spec, options) : undefined;
      const rollbackOnFailure = options.rollbackOnFailure ?? false;
      await traverse(
        id,
        options,
        "update",
        Object.keys(spec.tasks).length,
        { path: "update", body: { definition: spec, ...(input ? { input } : {}), rollbackOnFailure } },
        (runtime, runOptions) => runtime.update(id, spec, { ...runOptions, input, rollbackOnFailure }),
      );
    },
  );

  traversalCommand(
    program
      .command("rollback")
      .description("converge an execution back on its last traversal that succeeded (on nothing if none did)")
      .argument("<id>"),
  ).action(async (id: string, options: TraversalCommandOptions) => {
    await traverse(id, options, "rollback", 0, { path: "rollback" }, (runtime, runOptions) =>
      runtime.rollback(id, runOptions),
    );
  });

  traversalCommand(
    program
      .command("undo")
      .description(
        "run the undo of everything an execution made, in reverse dependency order; it ends undone",
      )
      .argument("<id>"),
  ).action(async (id: string, options: TraversalCommandOptions) => {
    await traverse(id, options, "undo", 0, { path: "undo" }, (runtime, runOptions) =>
      runtime.undo(id, runOptions),
    );
  });
}

function callServer(server: ServerTarget, id: string, request: { path: string; body?: unknown }) {
  return callApi<ExecutionReport>(server, "POST", `${apiPath("executions", id)}/${request.path}`, {
    json: request.body ?? {},
  });
}
