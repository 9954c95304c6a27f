/**
 * The sub-workflows a definition names literally (`action: workflow` with a `with.workflow`
 * written as plain text, not a `${{ }}` expression): what can be followed before anything runs,
 * to refuse a workflow that starts itself. A name computed by an expression is known only at run
 * time, where the engine's depth limit bounds it instead.
 */
import { EXPRESSION_STRING } from "./action-arguments.js";
import type { WorkflowSpec } from "./spec.js";

/** One literal sub-workflow reference: the task that makes it and what it names. */
export interface SubflowReference {
  task: string;
  workflow: string;
  /** The version it pins, when it pins a literal one. */
  version?: number;
}

/**
 * The literal sub-workflow references of `spec`, in task order.
 *
 * @example
 * subflowReferences(spec) // [{ task: "report", workflow: "render", version: 2 }]
 */
export function subflowReferences(spec: WorkflowSpec): SubflowReference[] {
  const references: SubflowReference[] = [];
  for (const [task, definition] of Object.entries(spec.tasks)) {
    if (definition.action !== "workflow") continue;
    const { workflow, version } = definition.with;
    if (typeof workflow !== "string" || EXPRESSION_STRING.test(workflow)) continue;
    references.push(
      typeof version === "number" && Number.isInteger(version)
        ? { task, workflow, version }
        : { task, workflow },
    );
  }
  return references;
}

/** Finds a registered (or given) workflow by name and optional version. */
export type WorkflowLookup = (
  name: string,
  version?: number,
) => WorkflowSpec | undefined | Promise<WorkflowSpec | undefined>;

/**
 * Follows the literal sub-workflow references of `spec` through `lookup` and answers the first
 * chain that leads back to its own name (`["a.sub -> b", "b.back -> a"]`), or null. Names that
 * `lookup` does not know end their chain: they are checked when the task starts.
 *
 * @example
 * await subflowCycle(a, (name) => specs.get(name)) // ["a.sub -> b", "b.back -> a"]
 */
export async function subflowCycle(spec: WorkflowSpec, lookup: WorkflowLookup): Promise<string[] | null> {
  const visited = new Set<string>();
  const walk = async (current: WorkflowSpec, chain: readonly string[]): Promise<string[] | null> => {
    for (const { task, workflow, version } of subflowReferences(current)) {
      const step = [...chain, `${current.name}.${task} -> ${workflow}`];
      if (workflow === spec.name) return step;
      const key = `${workflow}@${version ?? "latest"}`;
      if (visited.has(key)) continue;
      visited.add(key);
      const next = await lookup(workflow, version);
      const found = next ? await walk(next, step) : null;
      if (found) return found;
    }
    return null;
  };
  return walk(spec, []);
}
