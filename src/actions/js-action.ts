/**
 * `js`: calls a function exported by a JavaScript module, loaded with dynamic `import()`.
 * Node caches a module after the first import, so a worker loads each module once; a module
 * edited while a worker runs is picked up when the worker restarts.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { TaskFailure } from "../shared/errors.js";
import { ActionArgumentError, raceAbort, type Action } from "./action.js";
import { describe, parseArguments } from "./arguments.js";

/**
 * The signature a `js` module's export must have. `ctx` is the attempt's `ActionContext`:
 * use `ctx.signal` to stop early and `ctx.idempotencyKey` to make side effects safe to repeat.
 *
 * @example
 * // greet.mjs
 * export default async function greet(args, ctx) { return `hello ${args.name} (attempt ${ctx.attempt})`; }
 */
export type JsTaskFunction = (args: unknown, ctx: Parameters<Action>[1]) => unknown;

/** The module's absolute path: relative paths resolve against the workflow's directory. */
function resolveModule(specifier: string, baseDir: string): string {
  if (specifier.startsWith("file:")) {
    try {
      return fileURLToPath(specifier);
    } catch {
      throw new ActionArgumentError(
        "js",
        "module",
        `is ${describe(specifier)}, which is not a valid file: URL`,
      );
    }
  }
  return path.resolve(baseDir, specifier);
}

async function load(file: string): Promise<Record<string, unknown>> {
  // Checked first so that "no such file" is told apart from a module that fails while loading.
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    throw new ActionArgumentError("js", "module", `is "${file}", which is not an existing file`);
  }
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    // Not retryable: Node keeps a module that failed to load or evaluate in its cache, so
    // every later import in this process fails the same way.
    const message = error instanceof Error ? error.message : String(error);
    throw new TaskFailure(`js: module "${file}" failed to load: ${message}`, {
      type: "ModuleLoadError",
      retryable: false,
    });
  }
}

/**
 * `js`: `with.module` (path to an ES or CommonJS module, relative to the workflow's directory),
 * `with.export` (default "default"), `with.args` (default `{}`). Calls `fn(args, ctx)` and
 * resolves to its return value (undefined becomes null, since outputs are JSON). What the
 * function throws fails the task as thrown (a `TaskFailure` keeps its `retryable`).
 * The attempt ends when `ctx.signal` aborts even if the function ignores the signal.
 *
 * @example
 * // with: { module: "./steps/price.mjs", export: "quote", args: { sku: "A1" } }
 */
export const jsAction: Action = async (args, ctx) => {
  const parsed = parseArguments("js", args);
  const file = resolveModule(parsed.module, ctx.baseDir);
  const exportName = parsed.export ?? "default";
  const fnArgs = args.args ?? {};

  const mod = await load(file);
  if (!(exportName in mod)) {
    const names = Object.keys(mod).join(", ") || "nothing";
    throw new ActionArgumentError(
      "js",
      "export",
      `is "${exportName}", but module "${file}" has no such export (it exports ${names})`,
    );
  }
  const fn = mod[exportName];
  if (typeof fn !== "function") {
    throw new ActionArgumentError(
      "js",
      "export",
      `is "${exportName}", but in module "${file}" it is ${describe(fn)} (${typeof fn}), not a function`,
    );
  }

  ctx.signal.throwIfAborted();
  // `.then` turns a synchronous throw of the function into a rejection like any other.
  const result = await raceAbort(
    Promise.resolve().then(() => (fn as JsTaskFunction)(fnArgs, ctx)),
    ctx.signal,
  );
  return result === undefined ? null : result;
};
