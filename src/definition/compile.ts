/**
 * Compiles a schema-checked workflow document into a `WorkflowSpec`: defaults applied field by field,
 * durations in milliseconds, `after` as a list, `dependsOn` computed from `after` and expressions.
 * Compiling never fails on a document the schema accepted; semantic checks live in validate.ts.
 */
import { parseDuration } from "../shared/durations.js";
import { templateReferences } from "./references.js";
import type { DurationSource, InputSource, RetrySource, TaskSource, WorkflowSource } from "./schema.js";
import {
  DEFAULT_RETRY,
  Trigger,
  type InputSpec,
  type RetryPolicy,
  type TaskSpec,
  type Trigger as TriggerValue,
  type WorkflowSpec,
} from "./spec.js";

/**
 * Compiles a parsed document. Optional fields that are not set are absent from the result (not
 * `undefined`), so a spec is plain JSON and specs compare with `toStrictEqual`.
 *
 * @example
 * compileWorkflow(workflowSchema.parse(yamlData)).tasks.load.retry // { attempts: 3, backoff: 200, ... }
 */
export function compileWorkflow(source: WorkflowSource): WorkflowSpec {
  const defaultRetry = mergeRetry(DEFAULT_RETRY, source.defaults?.retry);
  const defaultTimeout = duration(source.defaults?.timeout);
  const tasks: Record<string, TaskSpec> = {};
  for (const [name, task] of Object.entries(source.tasks)) {
    tasks[name] = compileTask(task, defaultRetry, defaultTimeout);
  }
  const inputs: Record<string, InputSpec> = {};
  for (const [name, input] of Object.entries(source.inputs ?? {})) inputs[name] = compileInput(input);
  return omitUndefined({
    name: source.name,
    version: source.version,
    description: source.description,
    inputs,
    tasks,
    output: source.output,
    timeout: duration(source.timeout),
  });
}

function compileTask(
  task: TaskSource,
  defaultRetry: RetryPolicy,
  defaultTimeout: number | undefined,
): TaskSpec {
  const after =
    task.after === undefined ? [] : typeof task.after === "string" ? [task.after] : [...task.after];
  const args = task.with ?? {};
  const dependsOn = [
    ...new Set([
      ...after,
      ...templateReferences(args),
      ...templateReferences(task.when),
      ...templateReferences(task.forEach),
    ]),
  ].sort();
  return omitUndefined({
    action: task.action,
    with: args,
    dependsOn,
    after,
    when: task.when,
    forEach: task.forEach,
    maxParallel: task.maxParallel,
    trigger: (task.trigger ?? Trigger.allSuccess) as TriggerValue,
    allowFailure: task.allowFailure ?? false,
    retry: mergeRetry(defaultRetry, task.retry),
    timeout: duration(task.timeout) ?? defaultTimeout,
    undo: task.undo && { action: task.undo.action, with: task.undo.with ?? {} },
    description: task.description,
  });
}

function compileInput(input: InputSource): InputSpec {
  return omitUndefined({
    type: (input.type ?? "any") as InputSpec["type"],
    default: input.default,
    description: input.description,
    required: input.default === undefined,
  });
}

/** `override`'s set fields replace `base`'s, one by one. */
function mergeRetry(base: RetryPolicy, override: RetrySource | undefined): RetryPolicy {
  return {
    attempts: override?.attempts ?? base.attempts,
    backoff: duration(override?.backoff) ?? base.backoff,
    factor: override?.factor ?? base.factor,
    maxBackoff: duration(override?.maxBackoff) ?? base.maxBackoff,
    interruptions: override?.interruptions ?? base.interruptions,
  };
}

function duration(value: DurationSource | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value);
}

/** Drops keys whose value is undefined, so optional fields are absent rather than present-and-undefined. */
function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
