/**
 * What the server does with requests that never reach a route: connections that trickle their
 * headers or body (cut off by timeouts, so a few hundred slow clients cannot hold the server),
 * and the answers Node and Fastify give on their own (a malformed URL, a path segment over the
 * length limit, headers over the size limit, a timeout, unparsable HTTP). Every one of them
 * answers the project's error body, `{ error: { code, message } }`, like every route does.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ErrorBody } from "./errors.js";

/** Connection and request timeouts, in ms. */
export interface ServerTimeouts {
  /** Time to receive a whole request, headers and body. Default 30 s. */
  requestMs: number;
  /** Time to receive a request's headers, from the connection's first byte. Default 10 s. */
  headersMs: number;
  /** How long an idle keep-alive connection stays open between requests. Default 5 s. */
  keepAliveMs: number;
  /** A socket with no traffic either way for this long is closed. Default 120 s (live streams send a comment every 15 s). */
  idleMs: number;
  /** How often Node looks for requests over their time. Default 1 s. */
  checkEveryMs: number;
}

/** The defaults of `ServerTimeouts`. */
export const DEFAULT_TIMEOUTS: ServerTimeouts = Object.freeze({
  requestMs: 30_000,
  headersMs: 10_000,
  keepAliveMs: 5_000,
  idleMs: 120_000,
  checkEveryMs: 1_000,
});

/** The Fastify options that apply `timeouts` (Node's own defaults would let a body trickle in forever). */
export function timeoutOptions(given: Partial<ServerTimeouts> = {}) {
  const t = { ...DEFAULT_TIMEOUTS, ...given };
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(t.headersMs, t.requestMs);
  return {
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionTimeout: t.idleMs,
    http: { headersTimeout, requestTimeout: t.requestMs, connectionsCheckingInterval: t.checkEveryMs },
  };
}

const body = (code: string, message: string): string =>
  JSON.stringify({ error: { code, message } } satisfies ErrorBody);

/** The answer to a request Node refused before Fastify saw it, by Node's error code. */
function clientErrorAnswer(code: string | undefined): { status: number; body: string } {
  if (code === "ERR_HTTP_REQUEST_TIMEOUT")
    return {
      status: 408,
      body: body(
        "REQUEST_TIMEOUT",
        "The request did not arrive in time: send its headers and body without pausing.",
      ),
    };
  if (code === "HPE_HEADER_OVERFLOW")
    return {
      status: 431,
      body: body(
        "HEADERS_TOO_LARGE",
        "The request's URL and headers together are larger than the server accepts (16 KiB): shorten them.",
      ),
    };
  return { status: 400, body: body("BAD_REQUEST", "The request is not valid HTTP/1.1.") };
}

/** Fastify's `clientErrorHandler`: answers in the project's shape, then closes the connection. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const answer = clientErrorAnswer(error.code);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Length: ${Buffer.byteLength(answer.body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${answer.body}`,
    );
  }
  socket.destroy();
}

/** Shows a client's path in a message: bounded, so a huge URL does not come back whole. */
const shownPath = (url: string) => JSON.stringify(url.length > 200 ? `${url.slice(0, 197)}...` : url);

/** Fastify's `frameworkErrors`: the URL errors its router answers itself, in the project's shape. */
export function frameworkErrors(
  error: { code?: string },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const path = (request.raw.url ?? "").split("?")[0] ?? "";
  reply.header("x-request-id", request.id).type("application/json; charset=utf-8");
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
    void reply
      .status(414)
      .send(
        body("URI_TOO_LONG", `A segment of the path ${shownPath(path)} is longer than the server accepts.`),
      );
    return;
  }
  if (error.code === "FST_ERR_BAD_URL") {
    void reply
      .status(400)
      .send(
        body(
          "INVALID_URL",
          `The path ${shownPath(path)} is not a valid URL: percent-encode it (a % starts %XX).`,
        ),
      );
    return;
  }
  void reply.status(400).send(body("BAD_REQUEST", `The request for ${shownPath(path)} cannot be routed.`));
}
