/**
 * The zod schemas of response bodies. The routes build their answers with plain functions;
 * these schemas exist to document them in `/openapi.json` (and the tests check answers against them).
 */
import { z } from "zod";
import { ExecutionStatus, TaskStatus } from "../engine/states.js";
import { EventType } from "../engine/store.js";

const executionStatus = z.enum(Object.values(ExecutionStatus) as [string, ...string[]]);
const taskStatus = z.enum(Object.values(TaskStatus) as [string, ...string[]]);
const isoTime = z.string().describe("An ISO 8601 time (UTC).");

export const errorResponse = z.object({
  error: z.object({
    code: z.string().describe("Stable and machine-readable: INVALID_REQUEST, EXECUTION_NOT_FOUND, ..."),
    message: z.string().describe("A sentence for people."),
    field: z.string().optional().describe("The request field at fault, for INVALID_REQUEST."),
    diagnostics: z
      .array(
        z.object({
          file: z.string(),
          line: z.number().int(),
          col: z.number().int(),
          task: z.string().optional(),
          message: z.string(),
        }),
      )
      .optional()
      .describe("Every problem of an invalid definition, as `weft validate` prints them."),
    requestId: z.string().optional().describe("Names the request in the server's log (5xx only)."),
  }),
});

export const workflowRef = z.object({ name: z.string(), version: z.number().int() });

const workflowOrigin = z
  .enum(["http", "direct"])
  .describe(
    "Who registered this version: `http`, a client of this API (workers re-check its actions), or `direct`, a process with access to the store.",
  );

export const workflowSummary = z.object({
  name: z.string(),
  version: z.number().int(),
  description: z.string().optional(),
  tasks: z.number().int().describe("How many tasks the definition has."),
  origin: workflowOrigin,
  createdAt: isoTime,
});

export const workflowList = z.object({ workflows: z.array(workflowSummary) });

export const workflowDetail = z.object({
  name: z.string(),
  version: z.number().int(),
  origin: workflowOrigin,
  createdAt: isoTime,
  spec: z.record(z.string(), z.unknown()).describe("The compiled definition (durations in ms)."),
});

export const executionStarted = z.object({
  id: z.string(),
  workflow: z.string(),
  version: z.number().int().nullable(),
  status: executionStatus,
});

export const executionSummary = z.object({
  id: z.string(),
  workflow: z.string(),
  version: z.number().int().nullable(),
  status: executionStatus,
  createdAt: isoTime,
  finishedAt: isoTime.optional(),
});

export const executionList = z.object({
  executions: z.array(executionSummary).describe("Newest first."),
  nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page."),
});

export const executionReport = z
  .object({
    id: z.string(),
    workflow: z.string(),
    status: executionStatus,
    output: z.unknown(),
    error: z.object({ type: z.string(), message: z.string(), task: z.string().optional() }).optional(),
    createdAt: isoTime,
    finishedAt: isoTime.optional(),
    waitingFor: z.string().optional().describe("The worker it waits for: one with its builder functions."),
    traversal: z
      .object({ id: z.string(), number: z.number().int(), cause: z.string(), of: z.number().int() })
      .optional()
      .describe("Once it was updated: its current traversal (of how many) and what started it."),
    cleanup: z
      .array(
        z.object({
          task: z.string(),
          status: taskStatus,
          attempts: z.number().int(),
          error: z.unknown().optional(),
        }),
      )
      .optional()
      .describe("The undos of versions of earlier traversals that the current one no longer uses."),
    parent: z
      .object({ id: z.string(), task: z.string(), attempt: z.number().int() })
      .optional()
      .describe(
        "Set on a sub-workflow's execution: the parent execution's task (and attempt) that started it.",
      ),
    children: z
      .array(
        z.object({
          id: z.string(),
          workflow: z.string(),
          status: executionStatus,
          task: z.string(),
          attempt: z.number().int(),
        }),
      )
      .optional()
      .describe("The sub-workflows its tasks started (`action: workflow`), one per attempt."),
    tasks: z.record(
      z.string(),
      z.object({
        status: taskStatus,
        attempts: z.number().int(),
        output: z.unknown().optional(),
        error: z.unknown().optional(),
        undo: z
          .object({ status: taskStatus, attempts: z.number().int(), error: z.unknown().optional() })
          .optional(),
        deadline: isoTime.optional().describe("A waiting delegate's deadline."),
        reused: z
          .literal(true)
          .optional()
          .describe("A live version with its definition and inputs stood for it."),
        instances: z
          .record(z.string(), z.number().int())
          .optional()
          .describe("A forEach task's instances, counted by status."),
      }),
    ),
  })
  .describe("The object `weft status --json` prints.");

export const executionEvent = z.object({
  id: z.number().int(),
  executionId: z.string(),
  at: z.number().describe("Epoch milliseconds."),
  type: z.enum(Object.values(EventType) as [string, ...string[]]),
  task: z.string().optional(),
  kind: z.string().optional(),
  attempt: z.number().int().optional(),
  worker: z.string().optional(),
  status: z.string().optional(),
  error: z.object({ type: z.string(), message: z.string() }).passthrough().optional(),
  data: z.unknown().optional(),
});

export const eventList = z.object({ events: z.array(executionEvent).describe("Oldest first.") });

export const callbackResult = z.object({
  status: z
    .enum(["applied", "duplicate"])
    .describe("duplicate: the same result had already been applied (a third party's retry)."),
  executionId: z.string(),
  task: z.string(),
});

export const heartbeatResult = z.object({
  executionId: z.string(),
  task: z.string(),
  deadline: isoTime.nullable().describe("The delegate's new deadline; null when it has none."),
});

export const healthResponse = z.object({
  status: z.enum(["ok", "unavailable"]),
  /** Why the store is unavailable (503 only). */
  reason: z.string().optional(),
});
