/**
 * Validation of an already compiled `WorkflowSpec` (from the builder, or read back from a store):
 * the fields a schema would have checked, in their compiled form, then the same semantic checks
 * as for files.
 */
import { MAX_DURATION_MS, parseDuration } from "../shared/durations.js";
import { DefinitionError, quote, type Problem } from "./diagnostics.js";
import { MAX_NAME_LENGTH, shortName } from "./names.js";
import { unplacedDiagnostics } from "./pipeline.js";
import { TASK_NAME_PATTERN, WORKFLOW_NAME_PATTERN } from "./schema.js";
import { BUILTIN_ACTIONS, TRIGGERS, type TaskSpec, type WorkflowSpec } from "./spec.js";
import { checkWorkflow } from "./validate.js";

/**
 * Throws `DefinitionError` when a spec is invalid. Diagnostics have no position: file `<builder>`,
 * line and col 0 (printed as `<builder>: message`).
 *
 * @example
 * validateSpec(JSON.parse(storedSpecJson));
 */
export function validateSpec(spec: WorkflowSpec): void {
  const problems = shapeProblems(spec);
  if (problems.length === 0) problems.push(...checkWorkflow(spec));
  // dependsOn is compiled from after and expressions, checked above with better messages;
  // only a hand-made spec can still name an unknown task here.
  if (problems.length === 0) problems.push(...dependencyProblems(spec));
  if (problems.length > 0) throw new DefinitionError(unplacedDiagnostics(problems));
}

function dependencyProblems(spec: WorkflowSpec): Problem[] {
  return Object.entries(spec.tasks).flatMap(([name, task]) =>
    task.dependsOn
      .filter((predecessor) => !Object.hasOwn(spec.tasks, predecessor) || predecessor === name)
      .map((predecessor) => ({
        path: ["tasks", name, "dependsOn"],
        task: name,
        message: `task ${quote(name)}: "dependsOn" names ${predecessor === name ? "the task itself" : `the unknown task ${quote(predecessor)}`}`,
      })),
  );
}

const ACTIONS: readonly string[] = BUILTIN_ACTIONS;
const isDuration = (value: unknown) => typeof value === "number" && parseDuration(value) !== undefined;

function shapeProblems(spec: WorkflowSpec): Problem[] {
  const problems: Problem[] = [];
  if (typeof spec.name === "string" && spec.name.length > MAX_NAME_LENGTH) {
    problems.push({
      path: ["name"],
      message: `"name" is ${shortName(spec.name)}, expected a workflow name of at most ${MAX_NAME_LENGTH} characters`,
    });
  } else if (typeof spec.name !== "string" || !WORKFLOW_NAME_PATTERN.test(spec.name)) {
    problems.push({
      path: ["name"],
      message: `"name" is ${quote(spec.name)}, expected lowercase letters, digits, "_" and "-" only, like "nightly-etl"`,
    });
  }
  if (spec.timeout !== undefined && !isDuration(spec.timeout)) {
    problems.push({
      path: ["timeout"],
      message: `"timeout" is ${quote(spec.timeout)}, expected milliseconds from 0 to ${MAX_DURATION_MS} (365 days)`,
    });
  }
  if (spec.tasks === null || typeof spec.tasks !== "object") {
    problems.push({
      path: ["tasks"],
      message: `"tasks" is ${quote(spec.tasks)}, expected a mapping of tasks`,
    });
    return problems;
  }
  for (const [name, task] of Object.entries(spec.tasks)) problems.push(...taskProblems(name, task));
  return problems;
}

function taskProblems(name: string, task: TaskSpec): Problem[] {
  const problems: Problem[] = [];
  const report = (field: string, message: string) =>
    problems.push({ path: ["tasks", name, field], task: name, message: `task ${quote(name)}: ${message}` });
  if (name.length > MAX_NAME_LENGTH) {
    problems.push({
      path: ["tasks", name],
      task: name,
      message: `task name ${shortName(name)} is invalid, expected a task name of at most ${MAX_NAME_LENGTH} characters`,
    });
  } else if (!TASK_NAME_PATTERN.test(name)) {
    problems.push({
      path: ["tasks", name],
      task: name,
      message: `task name ${quote(name)} is invalid, expected a letter or _, then letters, digits, _ or -`,
    });
  }
  if (!ACTIONS.includes(task.action)) {
    report("action", `unknown action ${quote(task.action)}, expected one of: ${ACTIONS.join(", ")}`);
  }
  if (task.undo !== undefined && !ACTIONS.includes(task.undo.action)) {
    report("undo", `unknown undo action ${quote(task.undo.action)}, expected one of: ${ACTIONS.join(", ")}`);
  }
  if (!(TRIGGERS as readonly string[]).includes(task.trigger)) {
    report("trigger", `"trigger" is ${quote(task.trigger)}, expected one of ${TRIGGERS.join(", ")}`);
  }
  if (!Array.isArray(task.after) || !Array.isArray(task.dependsOn)) {
    report("after", `"after" and "dependsOn" must be lists of task names`);
  }
  if (task.timeout !== undefined && !isDuration(task.timeout)) {
    report(
      "timeout",
      `"timeout" is ${quote(task.timeout)}, expected milliseconds from 0 to ${MAX_DURATION_MS} (365 days)`,
    );
  }
  const retry = task.retry;
  if (!Number.isInteger(retry?.attempts) || retry.attempts < 1) {
    report("retry", `"retry.attempts" is ${quote(retry?.attempts)}, expected an integer >= 1`);
  } else if (!(retry.factor >= 1)) {
    report("retry", `"retry.factor" is ${quote(retry.factor)}, expected a number >= 1`);
  } else if (!isDuration(retry.backoff) || !isDuration(retry.maxBackoff)) {
    report(
      "retry",
      `"retry.backoff" and "retry.maxBackoff" must be milliseconds from 0 to ${MAX_DURATION_MS} (365 days)`,
    );
  } else if (
    retry.interruptions !== undefined &&
    !(Number.isInteger(retry.interruptions) && retry.interruptions >= 0)
  ) {
    report("retry", `"retry.interruptions" is ${quote(retry.interruptions)}, expected an integer >= 0`);
  }
  return problems;
}
