import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadWorkflowFile } from "../definition/index.js";
import { Engine } from "../engine/engine.js";
import { openStore } from "../runtime/open-store.js";
import type { CliIO } from "./io.js";
import { collect, parseInputs } from "./run-command.js";
import { storeUrl, withStoreOption } from "./store-option.js";

export function registerStart(program: Command, io: CliIO): void {
  withStoreOption(
    program
      .command("start")
      .description(
        "register a workflow (FILE) or pick a registered one (NAME), start an execution, print its id; workers run it",
      )
      .argument("<file-or-name>", "a workflow file, or the name of a registered workflow")
      .option("--version <n>", "with NAME: this version instead of the latest")
      .option("-i <name=value>", "an input value, read as its declared type (repeatable)", collect)
      .option("--input <json>", "inputs as one JSON object (-i values win)"),
  ).action(
    async (target: string, options: { store?: string; version?: string; i?: string[]; input?: string }) => {
      const path = resolve(io.cwd, target);
      const store = await openStore(storeUrl(options, io), io.cwd);
      try {
        const engine = new Engine(store);
        const looksLikeFile = existsSync(path) || /\.(ya?ml|json)$/.test(target);
        const spec = looksLikeFile
          ? (await engine.registerWorkflow(await loadWorkflowFile(path))).spec
          : (
              await engine.getWorkflow(
                target,
                options.version === undefined ? undefined : Number(options.version),
              )
            ).spec;
        const { execution } = await engine.start(spec, parseInputs(spec, options));
        io.stdout(`${execution.id}\n`);
      } finally {
        await store.close();
      }
    },
  );
}
