/**
 * The zod schemas of request bodies, query strings and path parameters (workflow definitions
 * use the DSL's own `workflowSchema`, through `parseWorkflow`). Objects are strict: a misspelt
 * field is answered 400 with its name rather than silently ignored. The OpenAPI document is
 * generated from these same schemas, so the documentation cannot drift from the checks.
 */
import { z } from "zod";
import { ExecutionStatus } from "../engine/states.js";
import { MAX_NAME_LENGTH, WORKFLOW_NAME_PATTERN } from "../definition/index.js";
import { DURATION_FORMS, parseDuration } from "../shared/durations.js";
import { YamlSource } from "./content.js";
import { ApiError } from "./errors.js";

const STATUSES = Object.values(ExecutionStatus) as [ExecutionStatus, ...ExecutionStatus[]];

/**
 * Query-string integers and their range: the OpenAPI document declares them `type: integer`
 * (their zod input is the query string's text, which a generated client must not ask for).
 */
export const queryIntegers = z.registry<{ minimum: number; maximum: number }>();

/** A query-string integer: digits only, then range-checked. */
const queryInt = (min: number, max: number, what: string) => {
  const schema = z
    .string()
    .regex(/^\d{1,15}$/, { error: `expected ${what}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { error: `expected ${what}` })
        .max(max, { error: `expected ${what}` }),
    );
  queryIntegers.add(schema, { minimum: min, maximum: max });
  return schema;
};

/** Longest id, name or token a path may carry: longer ones are no one's, and would only fill logs. */
const MAX_ID = 200;
const pathText = (what: string, max = MAX_ID) =>
  z
    .string()
    .min(1, { error: `expected ${what}` })
    .max(max, { error: `expected ${what}` });
/** Workflow and task names: the DSL's own limit, so the API and the stores agree on it. */
const nameText = (what: string) =>
  pathText(`${what} of at most ${MAX_NAME_LENGTH} characters`, MAX_NAME_LENGTH);

export const executionParams = z.strictObject({ id: pathText("an execution id") });
export const taskParams = z.strictObject({ id: pathText("an execution id"), task: nameText("a task name") });
export const workflowParams = z.strictObject({ name: nameText("a workflow name") });
export const tokenParams = z.strictObject({ token: pathText("a callback token") });

/** Page size of `GET /v1/executions`: default 50, at most 500. */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

export const listExecutionsQuery = z.strictObject({
  workflow: z.string().regex(WORKFLOW_NAME_PATTERN, { error: "expected a workflow name" }).optional(),
  status: z.enum(STATUSES, { error: `expected one of ${STATUSES.join(", ")}` }).optional(),
  limit: queryInt(1, MAX_PAGE, `a whole number from 1 to ${MAX_PAGE}`).optional(),
  cursor: z.string().max(MAX_ID, { error: "expected a cursor from a previous page's nextCursor" }).optional(),
});

export const eventsQuery = z.strictObject({
  after: queryInt(0, Number.MAX_SAFE_INTEGER, "an event id (a whole number >= 0)").optional(),
});

export const workflowQuery = z.strictObject({
  version: queryInt(1, Number.MAX_SAFE_INTEGER, "a version (a whole number >= 1)").optional(),
});

export const startExecutionBody = z.strictObject({
  workflow: z.string({ error: "expected the name of a registered workflow" }).min(1).max(MAX_NAME_LENGTH),
  version: z.number({ error: "expected a version (a whole number >= 1)" }).int().min(1).optional(),
  input: z.record(z.string(), z.unknown(), { error: "expected an object of input values" }).optional(),
});

export const updateBody = z.strictObject({
  definition: z.union([z.string(), z.record(z.string(), z.unknown())], {
    error: "expected the new definition: an object in the DSL, or its YAML text",
  }),
  input: z.record(z.string(), z.unknown(), { error: "expected an object of input values" }).optional(),
  rollbackOnFailure: z.boolean({ error: "expected true or false" }).optional(),
});

export const cancelBody = z.strictObject({
  undo: z.boolean({ error: "expected true or false" }).optional(),
});

export const completeBody = z.strictObject({
  output: z.unknown().optional(),
});

export const failBody = z.strictObject({
  error: z.union(
    [
      z.string().min(1).max(10_000),
      z.strictObject({
        message: z.string({ error: "expected the failure's message" }).min(1).max(10_000),
        retryable: z.boolean({ error: "expected true or false" }).optional(),
        type: z.string().min(1).max(100).optional(),
      }),
    ],
    { error: 'expected a message, or { "message", "retryable"?, "type"? }' },
  ),
});

/** The longest a heartbeat may push a deadline out: a year (much further, dates stop being dates). */
export const MAX_EXTEND_MS = 366 * 86_400_000;

export const heartbeatBody = z.strictObject({
  extend: z
    .union([z.string(), z.number()], { error: `expected a duration (${DURATION_FORMS})` })
    .refine((value) => parseDuration(value) !== undefined, {
      error: `expected a duration (${DURATION_FORMS})`,
    })
    .refine((value) => (parseDuration(value) ?? 0) <= MAX_EXTEND_MS, {
      error: "expected a duration of at most 366d",
    })
    .optional(),
});

/**
 * Parses one part of a request with `schema`, or throws a 400 naming the first bad field
 * (`body.input`, `query.limit`). An absent body counts as `{}`, so bodies of optional fields may be left out.
 *
 * @example
 * const { undo } = parseRequest(cancelBody, request.body, "body");
 */
export function parseRequest<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  if (where === "body" && (value instanceof YamlSource || typeof value === "string")) {
    throw new ApiError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "This endpoint takes a JSON body (content-type: application/json).",
    );
  }
  const result = schema.safeParse(value === undefined || value === null ? {} : value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [where, ...issue.path.map(String)];
  if (issue.code === "unrecognized_keys") {
    const field = [...path, issue.keys[0] ?? ""].join(".");
    const known = issue.path.length === 0 ? knownFields(schema) : "";
    throw new ApiError(
      400,
      "INVALID_REQUEST",
      `Unknown field "${field}"${known ? ` (expected ${known})` : ""}.`,
      field,
    );
  }
  const field = path.join(".");
  const message = issue.message.replace(/^Invalid input: /, "");
  throw new ApiError(400, "INVALID_REQUEST", `Invalid ${field}: ${message}.`, field);
}

function knownFields(schema: z.ZodType): string {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape).join(", ") : "";
}
