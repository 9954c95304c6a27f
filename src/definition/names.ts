/**
 * The one length limit of names (workflows and tasks), enforced by the DSL schema, `validateSpec`,
 * the HTTP API and every store. Names are keys of the stores' indexes: a 9,000-character workflow
 * name crashed PostgreSQL's (`index row requires 9016 bytes`), so a store refuses one too, even
 * when a library caller hands it a spec that never went through validation.
 */
import { WeftError } from "../shared/errors.js";

/** The longest workflow or task name, in characters: 200. */
export const MAX_NAME_LENGTH = 200;

/** A name as messages show it: a long one cut to its start and its length. */
export function shortName(name: string): string {
  return name.length <= 60
    ? JSON.stringify(name)
    : `${JSON.stringify(name.slice(0, 40))}... (${name.length.toLocaleString("en-US")} characters)`;
}

/**
 * A workflow or task name longer than `MAX_NAME_LENGTH`, given to a store.
 *
 * @example
 * // workflow name "aaaa..." (9,000 characters) is longer than the 200 characters a name may have: choose a shorter one
 */
export class NameTooLongError extends WeftError {
  constructor(
    readonly kind: "workflow" | "task",
    readonly badName: string,
  ) {
    super(
      "NAME_TOO_LONG",
      `${kind} name ${shortName(badName)} is longer than the ${MAX_NAME_LENGTH} characters a name may have: choose a shorter one`,
    );
  }
}

/**
 * Throws `NameTooLongError` when the workflow's name or one of its task names is too long. Stores
 * call it before they write a workflow or an execution.
 *
 * @example
 * assertNameLengths(spec.name, Object.keys(spec.tasks));
 */
export function assertNameLengths(workflow: string, tasks: Iterable<string> = []): void {
  if (workflow.length > MAX_NAME_LENGTH) throw new NameTooLongError("workflow", workflow);
  for (const task of tasks) if (task.length > MAX_NAME_LENGTH) throw new NameTooLongError("task", task);
}
