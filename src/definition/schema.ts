/**
 * The zod schema of the workflow DSL: the source of truth for its shape. `schema/workflow.schema.json`
 * is generated from it (`npm run schema`), and the YAML loader and the TypeScript builder both parse with it.
 * The schema describes what people write (durations as `30s`, `after` as one name or a list);
 * `compile.ts` turns a parsed document into a `WorkflowSpec`.
 *
 * Every leaf carries an `error` that says what is expected ("an integer >= 1"): `schema-issues.ts`
 * builds the full sentence with the field, the task and the bad value around it.
 */
import { z } from "zod";
import { DURATION_FORMS, MAX_DURATION_MS, parseDuration } from "../shared/durations.js";
import { MAX_NAME_LENGTH } from "./names.js";
import { BUILTIN_ACTIONS, InputType, TRIGGERS, type BuiltinAction } from "./spec.js";

/** Workflow names: `[a-z0-9_-]+`, so they are safe in file names, URLs and SQL. */
export const WORKFLOW_NAME_PATTERN = /^[a-z0-9_-]+$/;
/**
 * Task names start with a letter or `_` (so `tasks.NAME` reads well in expressions and JS objects keep
 * source order: integer-like keys would be moved first) and go on with letters, digits, `_` and `-`.
 * `__proto__` is refused: as a key of a plain object it would silently vanish.
 */
export const TASK_NAME_PATTERN = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_-]*$/;
/** Input names are identifiers, so `inputs.NAME` works in expressions without quoting. */
export const INPUT_NAME_PATTERN = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_]*$/;
/** The string form of a duration, as `parseDuration` accepts it (JSON Schema has no trim, so neither has this). */
export const DURATION_PATTERN = /^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/;

/** The actions a YAML/JSON file may name: the built-ins except `function`, which only the builder can provide. */
export const DSL_ACTIONS = BUILTIN_ACTIONS.filter(
  (action): action is Exclude<BuiltinAction, "function"> => action !== "function",
);

const err = (expected: string) => ({ error: expected });

/**
 * A duration as written: milliseconds (a number) or text such as `30s`, at most MAX_DURATION_MS;
 * every problem is answered with `expected`. Shared by the spec's fields and actions' `with`.
 */
export const durationValue = (expected: string) =>
  z.union(
    [
      z.number(err(expected)).nonnegative(err(expected)).max(MAX_DURATION_MS, err(expected)),
      z
        .string(err(expected))
        .regex(DURATION_PATTERN, err(expected))
        // The regex reports malformed text; this reports only the well-formed that is too long.
        .refine((text) => !DURATION_PATTERN.test(text) || parseDuration(text) !== undefined, err(expected)),
    ],
    err(expected),
  );

const DURATION_EXPECTED = `a duration (${DURATION_FORMS})`;
const duration = (description: string) =>
  durationValue(DURATION_EXPECTED).describe(`${description} Durations: ${DURATION_FORMS}.`);

const arguments_ = (description: string) =>
  z.record(z.string(), z.unknown(), err("a mapping of argument names to values")).describe(description);

const actionSchema = (actions: readonly string[]) =>
  z
    .enum(actions as [string, ...string[]], err(`one of the actions: ${actions.join(", ")}`))
    .describe(`The action that runs the task: ${actions.join(", ")}.`);

const TOO_LONG = `at most ${MAX_NAME_LENGTH} characters`;

const taskName = z
  .string(err("a task name"))
  // abort: a name too long to store gets that one message, not a pattern mismatch too.
  .max(MAX_NAME_LENGTH, { error: `a task name of ${TOO_LONG}`, abort: true })
  .regex(TASK_NAME_PATTERN, err("a task name (a letter or _, then letters, digits, _ or -)"));

const AFTER_EXPECTED = "a task name or a list of task names";

/** A retry policy as written; unset fields come from `defaults.retry`, then `DEFAULT_RETRY`. */
export const retrySchema = z
  .strictObject(
    {
      attempts: z
        .number(err("an integer >= 1"))
        .int(err("an integer >= 1"))
        .min(1, err("an integer >= 1"))
        .optional()
        .describe("Total tries, the first included (1 means no retry). Default 1."),
      backoff: duration("Delay before the second try. Default 1s.").optional(),
      factor: z
        .number(err("a number >= 1"))
        .min(1, err("a number >= 1"))
        .optional()
        .describe("Multiplier applied to the delay after each retry. Default 2."),
      maxBackoff: duration("Upper bound of the delay between tries. Default 60s.").optional(),
      interruptions: z
        .number(err("an integer >= 0"))
        .int(err("an integer >= 0"))
        .min(0, err("an integer >= 0"))
        .optional()
        .describe(
          "How many times an attempt whose worker was lost (it died, froze or shut down) runs again; such attempts do not count against attempts. Default 3.",
        ),
    },
    err("a mapping with attempts, backoff, factor, maxBackoff, interruptions"),
  )
  .describe("How a failed task is tried again.");

const undoSchema = (actions: readonly string[]) =>
  z
    .strictObject(
      {
        action: actionSchema(actions),
        with: arguments_("The action's arguments; strings may hold ${{ }} expressions.").optional(),
      },
      err("a mapping with action and with"),
    )
    .describe(
      "A compensation step that undoes this task after it succeeded (run in reverse dependency order).",
    );

const taskSchema = (actions: readonly string[]) =>
  z
    .strictObject(
      {
        action: actionSchema(actions),
        with: arguments_("The action's arguments; strings may hold ${{ }} expressions.").optional(),
        after: z
          .union([taskName, z.array(taskName, err(AFTER_EXPECTED))], err(AFTER_EXPECTED))
          .optional()
          .describe(
            "Tasks that must finish before this one. Tasks read by expressions (tasks.NAME) are added implicitly.",
          ),
        when: z
          .string(err('a "${{ }}" expression'))
          .optional()
          .describe('A "${{ }}" expression; the task is skipped when it is false (JSONata truthiness).'),
        forEach: z
          .string(err('a "${{ }}" expression'))
          .optional()
          .describe(
            'A "${{ }}" expression that yields a list: the task runs once per item (NAME[0], NAME[1], ...), each reading item and index; its output is the list of their outputs, in order.',
          ),
        maxParallel: z
          .number(err("an integer >= 1"))
          .int(err("an integer >= 1"))
          .min(1, err("an integer >= 1"))
          .optional()
          .describe("With forEach: at most this many instances run at once. Default: no limit."),
        trigger: z
          .enum(TRIGGERS as [string, ...string[]], err(`one of ${TRIGGERS.join(", ")}`))
          .optional()
          .describe(
            "When the task runs, given its predecessors' outcomes: all_success (default), all_done or any_failed.",
          ),
        allowFailure: z
          .boolean(err("true or false"))
          .optional()
          .describe("true: this task failing does not fail the execution. Default false."),
        retry: retrySchema.optional(),
        timeout: duration(
          "Timeout of each attempt (for delegate: how long to wait for the callback). Default: defaults.timeout.",
        ).optional(),
        undo: undoSchema(actions).optional(),
        description: z.string(err("a string")).optional().describe("What the task does, for people."),
      },
      err("a mapping with the task's fields (action, with, after, ...)"),
    )
    .describe("A task: one action with its arguments, and how it fits in the graph.");

const inputSchema = z
  .strictObject(
    {
      type: z
        .enum(
          Object.values(InputType) as [string, ...string[]],
          err(`one of ${Object.values(InputType).join(", ")}`),
        )
        .optional()
        .describe("The input's type: string, number, boolean, object, array or any (default)."),
      default: z
        .unknown()
        .optional()
        .describe("The value used when the input is not given; without it the input is required."),
      description: z.string(err("a string")).optional().describe("What the input means, for people."),
    },
    err("a mapping with type, default, description"),
  )
  .describe("An input of the workflow, read by expressions as inputs.NAME.");

const defaultsSchema = z
  .strictObject(
    {
      retry: retrySchema.optional(),
      timeout: duration("Timeout of each attempt of every task that sets none.").optional(),
    },
    err("a mapping with retry and timeout"),
  )
  .describe("Applied to every task that does not set its own.");

/**
 * The schema of a whole workflow document, parameterised by the actions it accepts: the DSL
 * (`workflowSchema`) cannot name `function`, the builder (`builderWorkflowSchema`) can.
 */
export function makeWorkflowSchema(actions: readonly string[]) {
  return z
    .strictObject(
      {
        $schema: z
          .string(err("a string"))
          .optional()
          .describe("The JSON Schema this document follows (ignored)."),
        name: z
          .string(err('a workflow name like "nightly-etl"'))
          .max(MAX_NAME_LENGTH, { error: `a workflow name of ${TOO_LONG}`, abort: true })
          .regex(
            WORKFLOW_NAME_PATTERN,
            err('lowercase letters, digits, "_" and "-" only, like "nightly-etl"'),
          )
          .describe("The workflow's name: lowercase letters, digits, _ and -."),
        version: z
          .number(err("an integer >= 1"))
          .int(err("an integer >= 1"))
          .min(1, err("an integer >= 1"))
          .optional()
          .describe("The version of this definition, a positive integer."),
        description: z.string(err("a string")).optional().describe("What the workflow does, for people."),
        inputs: z
          .record(
            z
              .string()
              .regex(INPUT_NAME_PATTERN, err("an input name (a letter or _, then letters, digits or _)")),
            inputSchema,
            err("a mapping of input names to their type, default and description"),
          )
          .optional()
          .describe("The workflow's inputs by name."),
        defaults: defaultsSchema.optional(),
        timeout: duration("Deadline of the whole execution.").optional(),
        tasks: z
          .record(taskName, taskSchema(actions), err("a mapping of task names to tasks"))
          .meta({ minProperties: 1 })
          .describe("The tasks by name, in the order they are written."),
        output: z
          .unknown()
          .optional()
          .describe("The execution's output: any value; strings may hold ${{ }} expressions."),
      },
      err('a mapping with at least "name" and "tasks"'),
    )
    .meta({
      title: "Weft workflow",
      description: `A Weft workflow: a DAG of tasks. Durations are ${DURATION_FORMS}.`,
    });
}

/** The schema of YAML/JSON workflow files. */
export const workflowSchema = makeWorkflowSchema(DSL_ACTIONS);
/** The schema the TypeScript builder checks against: the DSL plus the `function` action. */
export const builderWorkflowSchema = makeWorkflowSchema(BUILTIN_ACTIONS);

/** The fields each kind of mapping accepts, for "unknown field" messages. */
export const FIELDS = {
  workflow: Object.keys(workflowSchema.shape),
  defaults: Object.keys(defaultsSchema.shape),
  input: Object.keys(inputSchema.shape),
  task: Object.keys(taskSchema(DSL_ACTIONS).shape),
  retry: Object.keys(retrySchema.shape),
  undo: Object.keys(undoSchema(DSL_ACTIONS).shape),
} as const;

/** A workflow document as written (durations unparsed, `after` as one name or a list). */
export type WorkflowSource = z.infer<typeof workflowSchema>;
/** A task as written. */
export type TaskSource = WorkflowSource["tasks"][string];
/** A retry policy as written. */
export type RetrySource = z.infer<typeof retrySchema>;
/** An input as written. */
export type InputSource = NonNullable<WorkflowSource["inputs"]>[string];
/** A duration as written: milliseconds or `30s`. */
export type DurationSource = number | string;
