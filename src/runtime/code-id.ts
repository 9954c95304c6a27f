/**
 * Code ids: which builder functions an execution was started with. A worker claims a function
 * run only when it has functions with the same code id, so it never runs one version's task with
 * another version's body, and a worker without them leaves the run to one that has them.
 */
import { createHash } from "node:crypto";
import type { WorkflowSpec } from "../definition/spec.js";
import type { TaskFunction } from "../worker/task-runner.js";

/** A workflow as the runtime takes it: a builder workflow (`spec` plus `functions`) or a plain spec. */
export type Runnable =
  WorkflowSpec | { readonly spec: WorkflowSpec; readonly functions?: ReadonlyMap<string, TaskFunction> };

/** A workflow ready to start or to serve: its spec, its functions and their code id (null: none). */
export interface PreparedWorkflow {
  spec: WorkflowSpec;
  functions?: ReadonlyMap<string, TaskFunction>;
  code: string | null;
}

/** Hex digits kept of the SHA-256: 64 bits, far from any collision among one store's versions. */
const CODE_ID_LENGTH = 16;

/**
 * The code id of a workflow's functions: a shortened SHA-256 of its name and, by task name in
 * sorted order, each function's source (`fn.toString()`). Null without functions (YAML files,
 * builder workflows of actions only): any worker can run those. What a function closes over
 * (imports, module constants) is not part of its source: change the function to make a version.
 *
 * @example
 * codeId("etl", new Map([["parse", (d) => d]])) // "3f1c9a0b2d4e5f60"
 */
export function codeId(
  workflow: string,
  functions: ReadonlyMap<string, TaskFunction> | undefined,
): string | null {
  if (functions === undefined || functions.size === 0) return null;
  const entries = [...functions].map(([task, fn]) => [task, fn.toString()]);
  entries.sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  return createHash("sha256")
    .update(JSON.stringify([workflow, entries]))
    .digest("hex")
    .slice(0, CODE_ID_LENGTH);
}

/**
 * Compiles a runnable once (a builder workflow's `.spec` validates it) and computes its code id.
 *
 * @example
 * const { spec, code } = prepareWorkflow(flow);
 */
export function prepareWorkflow(workflow: Runnable): PreparedWorkflow {
  if (!("spec" in workflow)) return { spec: workflow, code: null };
  const spec = workflow.spec;
  return { spec, functions: workflow.functions, code: codeId(spec.name, workflow.functions) };
}
