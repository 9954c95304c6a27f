/**
 * Callbacks: third parties finish (or extend) a delegate task with the token they were handed
 * (`callback.url` in the task's expressions). The token in the path is the only credential; an
 * unknown, superseded or expired token answers 404 without saying which. Once the task ended,
 * the same result again answers 200 (third parties retry), another result 409.
 */
import type { FastifyInstance } from "fastify";
import type { CallbackResult } from "../../engine/engine.js";
import type { TaskRunRecord } from "../../engine/store.js";
import { parseDuration } from "../../shared/durations.js";
import type { TaskError } from "../../shared/errors.js";
import type { ApiContext } from "../context.js";
import { ApiError } from "../errors.js";
import { callbackResult, heartbeatResult } from "../responses.js";
import { completeBody, failBody, heartbeatBody, parseRequest, tokenParams } from "../schemas.js";

/** The same sentence `weft complete TOKEN` prints, so both paths read alike. */
const NOT_FOUND = "no waiting task holds that token (unknown, expired, or superseded by a retry).";

function notFound(): ApiError {
  return new ApiError(404, "CALLBACK_NOT_FOUND", NOT_FOUND);
}

/** A delegate that timed out waiting: its token expired, which is answered like an unknown one. */
function expired(run: TaskRunRecord): boolean {
  return run.status === "failed" && run.error?.type === "TimeoutError";
}

function answer(ctx: ApiContext, result: CallbackResult) {
  if (result.status === "not_found") throw notFound();
  if (result.status === "superseded")
    throw new ApiError(
      410,
      "CALLBACK_SUPERSEDED",
      `execution ${result.run.executionId} was updated: task "${result.run.task}" runs in a new traversal with a new token, and this one finishes nothing.`,
    );
  if (result.status === "conflict") {
    if (expired(result.run)) throw notFound();
    throw new ApiError(
      409,
      "CALLBACK_CONFLICT",
      `task "${result.run.task}" already ended ${result.run.status}; this token finishes nothing more.`,
    );
  }
  if (result.status === "applied") ctx.wake();
  return { status: result.status, executionId: result.run.executionId, task: result.run.task };
}

const responses = (what: string) => ({
  200: { description: `${what}, or the same result had already been applied.`, schema: callbackResult },
  404: { description: "No waiting task holds the token (unknown, expired, or superseded by a retry)." },
  409: { description: "The task already ended with another result." },
  410: {
    description:
      "The execution was updated (or rolled back, or undone) since: this token's traversal is gone.",
  },
});

export function callbackRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { engine } = ctx.runtime;

  ctx.routes.add(
    app,
    {
      method: "POST",
      url: "/v1/callbacks/:token/complete",
      operationId: "completeCallback",
      summary: "Complete a waiting delegate task with its output",
      tag: "callbacks",
      access: "callback",
      params: tokenParams,
      body: { schema: completeBody, required: false },
      responses: responses("Completed"),
    },
    async (request) => {
      const { token } = parseRequest(tokenParams, request.params, "path");
      const { output } = parseRequest(completeBody, request.body, "body");
      return answer(ctx, await engine.completeByToken(token, output ?? null));
    },
  );

  ctx.routes.add(
    app,
    {
      method: "POST",
      url: "/v1/callbacks/:token/fail",
      operationId: "failCallback",
      summary: "Fail a waiting delegate task (its retry policy applies when `retryable`)",
      tag: "callbacks",
      access: "callback",
      params: tokenParams,
      body: { schema: failBody, required: true },
      responses: responses("Failed"),
    },
    async (request) => {
      const { token } = parseRequest(tokenParams, request.params, "path");
      const { error } = parseRequest(failBody, request.body, "body");
      const failure: TaskError =
        typeof error === "string"
          ? { type: "DelegateFailed", message: error, retryable: false }
          : {
              type: error.type ?? "DelegateFailed",
              message: error.message,
              retryable: error.retryable ?? false,
            };
      return answer(ctx, await engine.failByToken(token, failure));
    },
  );

  ctx.routes.add(
    app,
    {
      method: "POST",
      url: "/v1/callbacks/:token/heartbeat",
      operationId: "heartbeatCallback",
      summary: "Push a waiting delegate's deadline out (to now + `extend`, default its timeout)",
      tag: "callbacks",
      access: "callback",
      params: tokenParams,
      body: { schema: heartbeatBody, required: false },
      responses: {
        200: { description: "The new deadline.", schema: heartbeatResult },
        404: { description: "No waiting task holds the token." },
      },
    },
    async (request) => {
      const { token } = parseRequest(tokenParams, request.params, "path");
      const { extend } = parseRequest(heartbeatBody, request.body, "body");
      const run = await engine.heartbeatByToken(
        token,
        extend === undefined ? undefined : parseDuration(extend),
      );
      if (!run) throw notFound();
      return {
        executionId: run.executionId,
        task: run.task,
        deadline: run.deadline === null ? null : new Date(run.deadline).toISOString(),
      };
    },
  );
}
