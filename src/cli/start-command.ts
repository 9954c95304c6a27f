import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { loadWorkflowFile } from "../definition/index.js";
import type { WorkflowSpec } from "../definition/spec.js";
import { Engine } from "../engine/engine.js";
import { Origin } from "../engine/store.js";
import { openStore } from "../runtime/open-store.js";
import { prepareWorkflow } from "../runtime/code-id.js";
import { isModuleFile, loadModuleWorkflow } from "../runtime/workflow-modules.js";
import { InvalidInputError } from "../shared/errors.js";
import { apiPath, callApi, serverTarget, withServerOption, type ServerTarget } from "./client.js";
import type { CliIO } from "./io.js";
import { collect, parseInputs } from "./run-command.js";
import { storeUrl, withStoreOption } from "./store-option.js";

interface StartOptions {
  store?: string;
  server?: string;
  token?: string;
  version?: string;
  i?: string[];
  input?: string;
  export?: string;
}

function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const version = Number(text);
  if (!Number.isInteger(version) || version < 1)
    throw new InvalidInputError(`--version must be a whole number >= 1, got "${text}".`);
  return version;
}

/**
 * `weft start --server`: the file is validated here first (so its problems are reported against
 * its own path, as on the store path), then registered and started over HTTP.
 */
async function startOverHttp(
  server: ServerTarget,
  target: string,
  path: string,
  looksLikeFile: boolean,
  options: StartOptions,
): Promise<string> {
  let name: string;
  let version: number | undefined;
  let spec: WorkflowSpec;
  if (looksLikeFile) {
    spec = await loadWorkflowFile(path);
    const registered = await callApi<{ name: string; version: number }>(server, "POST", "/v1/workflows", {
      yaml: await readFile(path, "utf8"),
    });
    ({ name, version } = registered);
  } else {
    const query = options.version === undefined ? "" : `?version=${parseVersion(options.version)}`;
    const record = await callApi<{ name: string; version: number; spec: WorkflowSpec }>(
      server,
      "GET",
      `${apiPath("workflows", target)}${query}`,
    );
    ({ name, version, spec } = record);
  }
  const started = await callApi<{ id: string }>(server, "POST", "/v1/executions", {
    json: { workflow: name, version, input: parseInputs(spec, options) },
  });
  return started.id;
}

export function registerStart(program: Command, io: CliIO): void {
  withServerOption(
    withStoreOption(
      program
        .command("start")
        .description(
          "register a workflow (FILE) or pick a registered one (NAME), start an execution, print its id; workers run it",
        )
        .argument(
          "<file-or-name>",
          "a workflow file (YAML, JSON, or a .js/.mjs module exporting builder workflows), or the name of a registered workflow",
        )
        .option("--export <name>", "with a module: the export holding the workflow (default: its only one)")
        .option("--version <n>", "with NAME: this version instead of the latest")
        .option("-i <name=value>", "an input value, read as its declared type (repeatable)", collect)
        .option("--input <json>", "inputs as one JSON object (-i values win)"),
    ),
    { token: true },
  ).action(async (target: string, options: StartOptions) => {
    const path = resolve(io.cwd, target);
    const looksLikeFile = existsSync(path) || /\.(ya?ml|json)$/.test(target);
    const isModule = looksLikeFile && isModuleFile(path);
    if (options.export !== undefined && !isModule)
      throw new InvalidInputError(
        `--export picks a workflow of a .js/.mjs module, but "${target}" is not one.`,
      );
    const server = serverTarget(options, io);
    if (server && isModule)
      throw new InvalidInputError(
        `weft start --server cannot start "${target}": its functions cannot travel over HTTP. ` +
          "Start it with --store (or the library's runtime.start) next to workers that load the module.",
      );
    if (server) {
      io.stdout(`${await startOverHttp(server, target, path, looksLikeFile, options)}\n`);
      return;
    }
    const store = await openStore(storeUrl(options, io), io.cwd);
    try {
      const engine = new Engine(store);
      // A module's functions get a code id: only workers that load the same module run them.
      const prepared = isModule ? prepareWorkflow(await loadModuleWorkflow(path, options.export)) : undefined;
      const record = prepared
        ? await engine.registerWorkflow(prepared.spec, Origin.direct, prepared.code)
        : looksLikeFile
          ? await engine.registerWorkflow(await loadWorkflowFile(path))
          : await engine.getWorkflow(target, parseVersion(options.version));
      const spec = record.spec;
      // A worker without --workflows resolves relative js modules against the file's directory.
      const { execution } = await engine.start(spec, parseInputs(spec, options), {
        baseDir: looksLikeFile ? dirname(path) : undefined,
        // A file read here is trusted; a version someone sent over HTTP stays checked by workers.
        origin: looksLikeFile ? Origin.direct : record.origin,
        code: record.code,
      });
      io.stdout(`${execution.id}\n`);
    } finally {
      await store.close();
    }
  });
}
