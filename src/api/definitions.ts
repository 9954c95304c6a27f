/** What the API checks of a definition a client sends (registered, or the new one of an update). */
import { refusalMessage, refusedActions, type ActionPolicy } from "../actions/action-policy.js";
import type { WorkflowSpec } from "../definition/spec.js";
import { ApiError } from "./errors.js";

/**
 * Refuses (403) a definition that uses an action this server's policy does not allow, naming
 * every refused use and pointing `field` at the first (`prefix` is where the tasks sit in the body).
 */
export function assertAllowedActions(spec: WorkflowSpec, policy: ActionPolicy, prefix: string): void {
  const refused = refusedActions(spec, policy);
  if (refused.length === 0) return;
  const first = refused[0]!;
  throw new ApiError(
    403,
    "ACTION_NOT_ALLOWED",
    refused.map((use) => refusalMessage(use, "this server")).join(" "),
    `${prefix}.tasks.${first.task}.${first.where}`,
  );
}
