/**
 * How errors become HTTP answers. Every error body has one shape, `{ error: { code, message } }`
 * (plus `diagnostics` for invalid definitions, `field` for invalid requests). Errors Weft raises
 * on purpose keep their code and sentence; anything else is a 500 that says "internal error" and
 * a request id, while the real error (and its stack) goes to the server's log only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { StoreUnavailableError, WeftError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    /** The request field at fault (`body.input`, `query.limit`), for invalid requests. */
    field?: string;
    /** Every problem of an invalid workflow definition (`weft validate`'s lines, as data). */
    diagnostics?: readonly unknown[];
    /** Names this request in the server's log (5xx answers only). */
    requestId?: string;
  };
}

/**
 * An answer decided by a route (not a bug): its status, code and sentence reach the client as they are.
 *
 * @example
 * throw new ApiError(404, "TASK_NOT_FOUND", 'Execution e1 has no task "load".');
 */
export class ApiError extends WeftError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    readonly field?: string,
  ) {
    super(code, message);
  }
}

/** HTTP statuses of the codes Weft's errors carry; any other WeftError is bad input (400). */
const STATUS_BY_CODE: Record<string, number> = {
  INVALID_DEFINITION: 400,
  INVALID_INPUT: 400,
  EXECUTION_NOT_FOUND: 404,
  WORKFLOW_NOT_FOUND: 404,
  WORKFLOW_VERSION_CONFLICT: 409,
  STATE_CONFLICT: 409,
  TRAVERSAL_CONFLICT: 409,
};

/** Fastify's own request errors, renamed into Weft's vocabulary; their messages hold no internals. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "INVALID_REQUEST",
  FST_ERR_CTP_INVALID_JSON_BODY: "INVALID_JSON",
};

/** Sentences for Fastify's own request errors, whose messages are terse labels ("Unsupported Media Type"). */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE:
    "The request body is larger than this server accepts (its --body-limit): send less.",
  FST_ERR_CTP_INVALID_MEDIA_TYPE:
    "This content-type is not accepted here: send application/json (or application/yaml for a workflow definition).",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "The content-length header does not match the body that came.",
};

/** How soon, in seconds, a client should try again while the store is unavailable. */
export const STORE_RETRY_AFTER_S = 2;

/** The status, body and extra headers an error answers with; `requestId` goes into 5xx bodies. */
export function errorAnswer(
  error: unknown,
  requestId: string,
): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (error instanceof StoreUnavailableError) {
    // An outage, not a bug: nothing was applied, and the same request may be sent again.
    return {
      status: 503,
      headers: { "retry-after": String(STORE_RETRY_AFTER_S) },
      body: { error: { code: error.code, message: `${error.message} Try again shortly.` } },
    };
  }
  if (error instanceof ApiError) {
    const field = error.field === undefined ? {} : { field: error.field };
    return {
      status: error.statusCode,
      body: { error: { code: error.code, message: error.message, ...field } },
    };
  }
  if (error instanceof WeftError) {
    const diagnostics = (error as { diagnostics?: readonly unknown[] }).diagnostics;
    return {
      status: STATUS_BY_CODE[error.code] ?? 400,
      body: { error: { code: error.code, message: error.message, ...(diagnostics ? { diagnostics } : {}) } },
    };
  }
  const fastify = error as Partial<FastifyError>;
  const status = fastify.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    const code =
      (fastify.code && FASTIFY_CODES[fastify.code]) ?? (status === 413 ? "BODY_TOO_LARGE" : "BAD_REQUEST");
    const message =
      (fastify.code && FASTIFY_MESSAGES[fastify.code]) ?? String(fastify.message ?? "bad request");
    return { status, body: { error: { code, message } } };
  }
  return {
    status: 500,
    body: { error: { code: "INTERNAL", message: `internal error (request id ${requestId})`, requestId } },
  };
}

/**
 * Installs the error and not-found handlers. 5xx errors are logged with the request id the
 * client sees, so an operator can find the real cause from a user's report.
 */
export function installErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, headers } = errorAnswer(error, String(request.id));
    if (headers) void reply.headers(headers);
    // An outage is logged once by the process's reaper or worker, not once per request.
    if (status >= 500 && !(error instanceof StoreUnavailableError)) {
      logger.error(
        `${request.method} ${request.routeOptions.url ?? request.url} failed (request ${request.id})`,
        {
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        },
      );
    }
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    return reply.status(404).send({
      error: {
        code: "NOT_FOUND",
        message: `No route ${request.method} ${path.slice(0, 200)}: /openapi.json lists them.`,
      },
    } satisfies ErrorBody);
  });
}
