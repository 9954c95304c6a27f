/**
 * Executions: start, list (newest first, by cursor), inspect, history, cancel, retry a task.
 * `GET /v1/executions/{id}` answers exactly what `weft status --json` prints.
 */
import type { FastifyInstance } from "fastify";
import type { ExecutionRecord } from "../../engine/store.js";
import { executionReport, subflowLinks } from "../../runtime/report.js";
import type { ApiContext } from "../context.js";
import { ApiError } from "../errors.js";
import { eventList, executionList, executionReport as reportSchema, executionStarted } from "../responses.js";
import {
  DEFAULT_PAGE,
  cancelBody,
  eventsQuery,
  executionParams,
  listExecutionsQuery,
  parseRequest,
  startExecutionBody,
  taskParams,
} from "../schemas.js";
import { decodeCursor, encodeCursor } from "./cursor.js";

export function executionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { engine, store } = ctx.runtime;
  const report = async (id: string) => {
    const execution = await engine.getExecution(id);
    const runs = await store.listRuns(id);
    return executionReport(execution, runs, await subflowLinks(store, execution, runs));
  };

  ctx.routes.add(
    app,
    {
      method: "POST",
      url: "/v1/executions",
      operationId: "startExecution",
      summary: "Start an execution of a registered workflow",
      tag: "executions",
      access: "management",
      body: { schema: startExecutionBody, required: true },
      responses: {
        201: { description: "Started; workers run it.", schema: executionStarted },
        404: { description: "No such workflow (or version)." },
      },
    },
    async (request, reply) => {
      const body = parseRequest(startExecutionBody, request.body, "body");
      const record = await engine.getWorkflow(body.workflow, body.version);
      // The execution records the version it runs, also for definitions registered without one.
      const spec =
        record.spec.version === undefined ? { ...record.spec, version: record.version } : record.spec;
      // The version's origin goes with it: workers re-check definitions that came over HTTP. So
      // does its code id: a code-first version's functions run only on workers that have them.
      const { execution } = await engine.start(spec, body.input ?? {}, {
        origin: record.origin,
        code: record.code,
      });
      ctx.wake();
      return reply
        .status(201)
        .header("location", `/v1/executions/${encodeURIComponent(execution.id)}`)
        .send({
          id: execution.id,
          workflow: execution.workflow,
          version: execution.version,
          status: execution.status,
        });
    },
  );

  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/v1/executions",
      operationId: "listExecutions",
      summary: "List executions, newest first, a page at a time",
      description: `\`limit\` defaults to ${DEFAULT_PAGE}; pass a page's \`nextCursor\` as \`cursor\` for the next one.`,
      tag: "executions",
      access: "management",
      query: listExecutionsQuery,
      responses: { 200: { description: "One page.", schema: executionList } },
    },
    async (request) => {
      const query = parseRequest(listExecutionsQuery, request.query, "query");
      const limit = query.limit ?? DEFAULT_PAGE;
      // One more than asked tells whether a next page exists without a second query.
      const rows = await store.listExecutions({
        status: query.status,
        workflow: query.workflow,
        limit: limit + 1,
        before: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        executions: page.map(summary),
        nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
      };
    },
  );

  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/v1/executions/:id",
      operationId: "getExecution",
      summary: "An execution and its tasks (what `weft status --json` prints)",
      tag: "executions",
      access: "management",
      params: executionParams,
      responses: {
        200: { description: "The execution's report.", schema: reportSchema },
        404: { description: "No such execution." },
      },
    },
    async (request) => report(parseRequest(executionParams, request.params, "path").id),
  );

  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/v1/executions/:id/events",
      operationId: "listExecutionEvents",
      summary: "An execution's history, oldest first (after the event id `after`, when given)",
      tag: "executions",
      access: "management",
      params: executionParams,
      query: eventsQuery,
      responses: {
        200: { description: "Its events.", schema: eventList },
        404: { description: "No such execution." },
      },
    },
    async (request) => {
      const { id } = parseRequest(executionParams, request.params, "path");
      const { after } = parseRequest(eventsQuery, request.query, "query");
      await engine.getExecution(id);
      return { events: await store.listEvents(id, after) };
    },
  );

  ctx.routes.add(
    app,
    {
      method: "POST",
      url: "/v1/executions/:id/cancel",
      operationId: "cancelExecution",
      summary: "Cancel an execution (with `undo`: run the undos of succeeded tasks first)",
      description: "Cancelling an execution that already ended changes nothing and answers its report.",
      tag: "executions",
      access: "management",
      params: executionParams,
      body: { schema: cancelBody, required: false },
      responses: {
        200: { description: "Its report: cancelled, or compensating while undos run.", schema: reportSchema },
        404: { description: "No such execution." },
      },
    },
    async (request) => {
      const { id } = parseRequest(executionParams, request.params, "path");
      const { undo } = parseRequest(cancelBody, request.body, "body");
      await engine.cancel(id, { undo: undo ?? false });
      ctx.wake();
      return report(id);
    },
  );

  ctx.routes.add(
    app,
    {
      method: "POST",
      url: "/v1/executions/:id/tasks/:task/retry",
      operationId: "retryTask",
      summary: "Run a failed task again; the execution resumes",
      tag: "executions",
      access: "management",
      params: taskParams,
      responses: {
        202: { description: "The task is ready again; the execution's report.", schema: reportSchema },
        404: { description: "No such execution, or no such task in it." },
        409: { description: "The task did not fail, or the execution's state does not allow a retry." },
      },
    },
    async (request, reply) => {
      const { id, task } = parseRequest(taskParams, request.params, "path");
      const execution = await engine.getExecution(id);
      if (!Object.hasOwn(execution.spec.tasks, task)) {
        throw new ApiError(404, "TASK_NOT_FOUND", `Execution ${id} has no task "${task}".`, "path.task");
      }
      await engine.retryTask(id, task);
      ctx.wake();
      return reply.status(202).send(await report(id));
    },
  );
}

function summary(execution: ExecutionRecord) {
  return {
    id: execution.id,
    workflow: execution.workflow,
    version: execution.version,
    status: execution.status,
    createdAt: new Date(execution.createdAt).toISOString(),
    ...(execution.finishedAt ? { finishedAt: new Date(execution.finishedAt).toISOString() } : {}),
  };
}
