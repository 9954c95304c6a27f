/**
 * The `with` of each built-in action, as zod schemas: the one source of truth for what an action
 * accepts. Workers parse a task's evaluated `with` with it (src/actions/arguments.ts); `weft validate`,
 * the builder and the API check the written `with` with it (check-arguments.ts); the JSON Schema gives
 * editors each action's fields (json-schema.ts). They live here, below actions/, because definition/
 * may not import actions/ while actions/ already imports definition/ (and validation needs no actions).
 */
import { z } from "zod";
import { DURATION_FORMS } from "../shared/durations.js";
import { durationValue } from "./schema.js";

const err = (expected: string) => ({ error: expected });

/** A string holding at least one `${{`: its value is known only when a worker evaluates it. */
export const EXPRESSION_STRING = /\$\{\{/;

const DURATION_EXPECTED = DURATION_FORMS;
/** HTTP method tokens (RFC 9110); CONNECT, TRACE and TRACK turn a connection into something else. */
const METHOD = /^(?!(?:CONNECT|TRACE|TRACK)$)[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/i;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

function makeArguments() {
  const text = (description: string) => z.string(err("a string")).describe(description).nullish();
  const required = (description: string) =>
    z
      .string(err("a non-empty string"))
      // A refinement, not .trim(): the command is run as written.
      .refine((t) => t.trim() !== "", err("a non-empty string"))
      .describe(description);
  // Numbers and booleans are accepted where strings are meant: YAML writes `PORT: 8080` as a number.
  const stringMap = (description: string) =>
    z
      .record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean()], err("a string, number or boolean")),
        err("a mapping of names to strings"),
      )
      .describe(description)
      .nullish();
  const http = z
    .strictObject(
      {
        url: z
          .string(err("an http: or https: URL"))
          .refine(isHttpUrl, err("an absolute http: or https: URL"))
          .describe("The URL to request (http: or https:)."),
        method: z
          .string(err("an HTTP method"))
          .regex(METHOD, err("an HTTP method like GET or POST"))
          .describe("The HTTP method. Default GET, or POST when a body is given.")
          .nullish(),
        headers: stringMap("Request headers."),
        body: z
          .unknown()
          .optional()
          .describe("A string is sent as is; any other value as JSON (content-type application/json)."),
      },
      err("a mapping with url, method, headers, body"),
    )
    .describe("One HTTP request.");
  return {
    noop: z
      .record(z.string(), z.unknown(), err("a mapping"))
      .describe("noop: any fields; the task's output is the whole with."),
    echo: z
      .strictObject(
        { message: z.unknown().optional().describe("The task's output: any value.") },
        err("a mapping with message"),
      )
      .describe("echo: outputs with.message."),
    sleep: z
      .strictObject(
        {
          duration: durationValue(DURATION_EXPECTED).describe(`How long to wait: ${DURATION_FORMS}.`),
        },
        err("a mapping with duration"),
      )
      .describe("sleep: waits with.duration."),
    fail: z
      .strictObject(
        {
          message: text('The failure\'s message. Default "failed on purpose".'),
          retryable: z
            .boolean(err("true or false"))
            .nullish()
            .describe("Whether the failure may be retried. Default true."),
          untilAttempt: z
            .number(err("a whole number >= 1"))
            .int(err("a whole number >= 1"))
            .min(1, err("a whole number >= 1"))
            .nullish()
            .describe("Fail every attempt before this one, then succeed with { attempt }."),
        },
        err("a mapping with message, retryable, untilAttempt"),
      )
      .describe("fail: fails the task, for tests and demos."),
    shell: z
      .strictObject(
        {
          command: required("The command, run by /bin/sh -c."),
          env: stringMap("Environment variables, merged over the worker's."),
          cwd: text("The working directory, relative to the workflow's directory (the default)."),
        },
        err("a mapping with command, env, cwd"),
      )
      .describe("shell: runs with.command."),
    http: http.describe("http: one HTTP request."),
    js: z
      .strictObject(
        {
          module: required("The module's path, relative to the workflow's directory, or a file: URL."),
          export: text('The exported function to call. Default "default".'),
          args: z.unknown().optional().describe("The function's first argument. Default {}."),
        },
        err("a mapping with module, export, args"),
      )
      .describe("js: calls a function exported by a JavaScript module."),
    // Other fields are the delegate's own data, read by whoever completes it.
    delegate: z
      .looseObject(
        { notify: http.optional().describe("A request sent to the third party when the task starts.") },
        err("a mapping"),
      )
      .describe("delegate: waits for a callback; with.notify tells the third party."),
    workflow: z
      .strictObject(
        {
          workflow: z
            .string(err("a workflow name"))
            .refine((t) => t.trim() !== "", err("a workflow name"))
            .describe("The registered workflow to start as a sub-workflow."),
          version: z
            .number(err("a whole number >= 1"))
            .int(err("a whole number >= 1"))
            .min(1, err("a whole number >= 1"))
            .nullish()
            .describe("The version to start. Default: the highest registered when the task starts."),
          input: z
            .record(z.string(), z.unknown(), err("a mapping of input names to values"))
            .nullish()
            .describe("The sub-workflow's input. Default {}."),
        },
        err("a mapping with workflow, version, input"),
      )
      .describe(
        "workflow: runs a registered workflow as a sub-workflow; the task ends with its output or its error.",
      ),
    function: z
      .record(z.string(), z.unknown(), err("a mapping"))
      .describe("function: the builder's function."),
  } as const;
}

/**
 * The schema of each action's `with`, by action. Workers parse evaluated values with it; validation
 * parses written values and drops the issues of `${{ }}` strings (see check-arguments.ts).
 */
export const ACTION_ARGUMENTS = makeArguments();

/** The actions with a `with` schema: every built-in. */
export type ArgumentsAction = keyof typeof ACTION_ARGUMENTS;
/** The evaluated `with` of `action`, parsed. */
export type ActionArguments<A extends ArgumentsAction> = z.output<(typeof ACTION_ARGUMENTS)[A]>;
