/**
 * The key of a version: a hash of what a task's body ran with (what it does: action, `with`
 * as written and as resolved, `when`, trigger, predecessors, undo; and for a builder function
 * its predecessors' outputs and the code id). Two runs with the same key would do the same
 * thing, so a later traversal reuses the earlier run's output instead of running the body
 * again (see traversals.ts). Retry policy, timeouts and descriptions say how, not what: a
 * change to them alone reruns nothing.
 */
import { createHash } from "node:crypto";
import type { TaskSpec } from "../definition/spec.js";

export function versionKey(
  task: TaskSpec,
  args: unknown,
  extra: { code?: string | null; predecessors?: Record<string, unknown> } = {},
): string {
  return createHash("sha256")
    .update(
      JSON.stringify({
        action: task.action,
        with: task.with,
        when: task.when ?? null,
        trigger: task.trigger,
        undo: task.undo ?? null,
        // Which tasks it follows matters as much as what it reads from them.
        dependsOn: [...task.dependsOn].sort(),
        args: args ?? null,
        code: extra.code ?? null,
        predecessors: extra.predecessors ?? null,
      }),
    )
    .digest("base64url");
}
