/** `weft status`, `cancel`, `retry`, `resume`, `complete`, `fail`: commands on stored executions. */
import type { Command } from "commander";
import { Engine } from "../engine/engine.js";
import type { Store } from "../engine/store.js";
import { createRuntime } from "../runtime/runtime.js";
import { openStore } from "../runtime/open-store.js";
import { InvalidInputError } from "../shared/errors.js";
import { CliExit, ExitCode, type CliIO } from "./io.js";
import { reportOf, formatReport, type ExecutionReport } from "../runtime/report.js";
import { storeUrl, withStoreOption } from "./store-option.js";
import { parseConcurrency } from "./run-command.js";
import {
  apiPath,
  callApi,
  callbackOverHttp,
  requireStore,
  serverTarget,
  withServerOption,
} from "./client.js";
import { withSource } from "./source.js";

async function withStore<T>(
  options: { store?: string },
  io: CliIO,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStore(storeUrl(options, io), io.cwd);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** How `complete` and `fail` address a delegate: by token, or by execution and task name. */
interface TargetOptions {
  execution?: string;
  task?: string;
  store?: string;
  server?: string;
}

function parseJsonOption(name: string, text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(
      `${name} is not valid JSON: ${error instanceof Error ? error.message : String(error)}.`,
    );
  }
}

/** Adds `weft status`, `cancel`, `retry`, `resume`, `complete` and `fail`. */
export function registerExecutionCommands(
  program: Command,
  io: CliIO,
  setExit: (code: number) => void,
): void {
  withServerOption(
    withStoreOption(
      program
        .command("status")
        .description("show an execution and its tasks")
        .argument("<id>")
        .option("--json", "print one JSON object"),
    ),
    { token: true },
  ).action(
    async (id: string, options: { json?: boolean; store?: string; server?: string; token?: string }) => {
      const report = await withSource(options, io, (source) => source.report(id));
      io.stdout(options.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    },
  );

  withServerOption(
    withStoreOption(
      program
        .command("cancel")
        .description("cancel an execution")
        .argument("<id>")
        .option("--undo", "run the undos of succeeded tasks first"),
    ),
    { token: true },
  ).action(
    async (id: string, options: { undo?: boolean; store?: string; server?: string; token?: string }) => {
      const server = serverTarget(options, io);
      if (server) {
        const report = await callApi<ExecutionReport>(server, "POST", `${apiPath("executions", id)}/cancel`, {
          json: { undo: options.undo ?? false },
        });
        io.stderr(`execution ${id}: ${report.status}\n`);
        return;
      }
      await withStore(options, io, async (store) => {
        const engine = new Engine(store);
        await engine.cancel(id, { undo: options.undo ?? false });
        const execution = await engine.getExecution(id);
        io.stderr(`execution ${id}: ${execution.status}\n`);
      });
    },
  );

  withServerOption(
    withStoreOption(
      program
        .command("retry")
        .description("run a failed task again with fresh attempts; its execution runs on")
        .argument("<id>")
        .argument("<task>", "the failed task's name")
        .option("--json", "print the execution's report as one JSON object"),
    ),
    { token: true },
  ).action(
    async (
      id: string,
      task: string,
      options: { json?: boolean; store?: string; server?: string; token?: string },
    ) => {
      const server = serverTarget(options, io);
      const report = server
        ? await callApi<ExecutionReport>(server, "POST", `${apiPath("executions", id, "tasks", task)}/retry`)
        : await withStore(options, io, async (store) => {
            const engine = new Engine(store);
            const execution = await engine.getExecution(id);
            if (!Object.hasOwn(execution.spec.tasks, task))
              throw new InvalidInputError(
                `Execution ${id} has no task "${task}"; its tasks are ${Object.keys(execution.spec.tasks).join(", ")}.`,
              );
            await engine.retryTask(id, task);
            return reportOf(store, id);
          });
      if (options.json) io.stdout(`${JSON.stringify(report)}\n`);
      io.stderr(`task "${task}" of execution ${id}: ready again; the execution is ${report.status}\n`);
      // Over a server its workers run it; on a store, nothing may be running this execution.
      if (!server)
        io.stderr(
          `a weft worker on this store runs it; to run it here: weft resume ${id} (weft watch ${id} follows it)\n`,
        );
    },
  );

  withServerOption(
    withStoreOption(
      program
        .command("resume")
        .description("finish an execution whose process died: reclaim its runs and run the rest here")
        .argument("<id>")
        .option("--concurrency <n>", "task runs at once (default 8)")
        .option("--json", "print one JSON object with the result"),
    ),
    { token: false },
  ).action(
    async (
      id: string,
      options: { store?: string; server?: string; concurrency?: string; json?: boolean },
    ) => {
      requireStore(options, io, "resume");
      const runtime = await createRuntime({
        store: storeUrl(options, io),
        concurrency: parseConcurrency(options.concurrency),
      });
      try {
        const stored = await runtime.engine.getExecution(id);
        const abandoned = await runtime.reclaimFromDeadProcesses(id);
        if (abandoned > 0) io.stderr(`reclaimed ${abandoned} run(s) of a dead process\n`);
        io.stderr(`execution ${id} resumed\n`);
        const execution = await runtime.resume(id, { baseDir: stored.baseDir ?? io.cwd });
        const report = await reportOf(runtime.store, execution);
        io.stdout(options.json ? `${JSON.stringify(report)}\n` : formatReport(report));
        setExit(execution.status === "succeeded" ? ExitCode.ok : ExitCode.failed);
      } finally {
        await runtime.close();
      }
    },
  );

  const target = (command: Command) =>
    withServerOption(
      withStoreOption(
        command
          .argument("[token]", "the delegate's completion token")
          .option(
            "--execution <id>",
            "with --task: address a waiting task by name instead of token (not with --server)",
          )
          .option("--task <name>", "the waiting task's name"),
      ),
      { token: false },
    );

  async function settle(
    token: string | undefined,
    options: TargetOptions,
    outcome:
      | { status: "succeeded"; output: unknown }
      | { status: "failed"; error: { type: string; message: string; retryable: boolean } },
  ): Promise<void> {
    const server = serverTarget(options, io);
    if (server) {
      const { executionId, task } = await callbackOverHttp(server, token, outcome);
      const done = outcome.status === "succeeded" ? "completed" : "failed";
      io.stderr(`task "${task}" of execution ${executionId}: ${done}\n`);
      return;
    }
    await withStore(options, io, async (store) => {
      const engine = new Engine(store);
      if (token) {
        const result =
          outcome.status === "succeeded"
            ? await engine.completeByToken(token, outcome.output)
            : await engine.failByToken(token, outcome.error);
        if (result.status === "not_found")
          throw new CliExit(
            ExitCode.invalid,
            "weft: no waiting task holds that token (unknown, expired, or superseded by a retry).",
          );
        if (result.status === "superseded")
          throw new CliExit(
            ExitCode.failed,
            `weft: execution ${result.run.executionId} was updated: task "${result.run.task}" runs in a new traversal with a new token, and this one finishes nothing.`,
          );
        if (result.status === "conflict")
          throw new CliExit(
            ExitCode.invalid,
            `weft: task "${result.run.task}" already ended ${result.run.status}; this token finishes nothing more.`,
          );
        io.stderr(
          `task "${result.run.task}" of execution ${result.run.executionId}: ${outcome.status === "succeeded" ? "completed" : "failed"}\n`,
        );
        return;
      }
      if (!options.execution || !options.task)
        throw new InvalidInputError("Give a token, or both --execution ID and --task NAME.");
      const result = await engine.settleWaiting(options.execution, options.task, outcome);
      if (!result)
        throw new CliExit(
          ExitCode.invalid,
          `weft: task "${options.task}" of execution ${options.execution} is not waiting for a callback.`,
        );
      io.stderr(
        `task "${options.task}" of execution ${options.execution}: ${outcome.status === "succeeded" ? "completed" : "failed"}\n`,
      );
    });
  }

  target(
    program
      .command("complete")
      .description("complete a waiting delegate task")
      .option("--output <json>", "the task's output (JSON)"),
  ).action(async (token: string | undefined, options: TargetOptions & { output?: string }) => {
    await settle(token, options, {
      status: "succeeded",
      output: parseJsonOption("--output", options.output),
    });
  });

  target(
    program
      .command("fail")
      .description("fail a waiting delegate task")
      .requiredOption("--error <message>", "why it failed")
      .option("--retryable", "let the retry policy try again"),
  ).action(
    async (token: string | undefined, options: TargetOptions & { error: string; retryable?: boolean }) => {
      await settle(token, options, {
        status: "failed",
        error: { type: "DelegateFailed", message: options.error, retryable: options.retryable ?? false },
      });
    },
  );
}
