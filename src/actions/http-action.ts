/**
 * `http`: one HTTP request (see http-request.ts), to hosts the worker's egress policy allows.
 * Server errors and network failures are worth retrying; client errors are not, since the
 * same request would be refused again, and neither is a refused host.
 */
import { validateHeaderName, validateHeaderValue } from "node:http";
import { TaskFailure } from "../shared/errors.js";
import { abortReason, ActionArgumentError, type Action } from "./action.js";
import { describe, parseArguments, toStrings } from "./arguments.js";
import { DEFAULT_EGRESS_POLICY } from "./egress-policy.js";
import { EgressRefusal, exchange, type HttpExchange } from "./http-request.js";

/** The output of an `http` task. */
export interface HttpOutput {
  status: number;
  /** Response headers, names in lower case. */
  headers: Record<string, string>;
  /** Parsed JSON when the response says it is JSON (and parses), else the text. */
  body: unknown;
}

/**
 * 4xx statuses that say "try again later" rather than "this request is wrong": a timeout
 * and rate limiting. Every other 4xx is final.
 */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 429]);

/** `application/json`, `application/problem+json`, `text/json`... */
const JSON_TYPE = /^[^;]*[/+]json\s*(?:;|$)/i;

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ActionArgumentError("http", "url", `is ${describe(raw)}, which is not an absolute URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ActionArgumentError("http", "url", `must be an http: or https: URL, got ${describe(raw)}`);
  }
  return url;
}

/** The URL as shown in messages: no credentials and no query string, which often carry secrets. */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** The useful part of a network error ("connect ECONNREFUSED ..."), also when it hides in `cause`. */
function networkMessage(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return cause.message || (typeof code === "string" ? code : "") || String(error);
  }
  return error instanceof Error ? error.message : String(error);
}

function snippet(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** Methods `fetch` refuses too: they turn the connection into something else. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The headers with lower-case names, each checked as Node will send it. */
function checkedHeaders(given: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given ?? {})) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      throw new ActionArgumentError("http", "headers", `is not valid: ${(error as Error).message}`);
    }
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

/**
 * `http`: `with.url` (required), `with.method` (default GET, or POST when a body is given),
 * `with.headers`, `with.body` (a string is sent as is; any other JSON value as JSON, with
 * content-type application/json unless a content-type header is given).
 * Output `{ status, headers, body }`. 5xx, 408, 429 and network errors fail retryably with
 * type "HttpError"; other 4xx fail for good, and so does a host the worker's egress policy
 * refuses (type "EgressRefused", see egress-policy.ts).
 *
 * @example
 * // with: { url: "https://api.example.com/orders", body: { id: 7 } } -> POST, output { status: 201, ... }
 */
export const httpAction: Action = async (args, ctx) => {
  const parsed = parseArguments("http", args);
  const url = parseUrl(parsed.url);
  const headers = checkedHeaders(toStrings(parsed.headers));

  let payload: string | undefined;
  if (args.body !== undefined && args.body !== null) {
    if (typeof args.body === "string") payload = args.body;
    else {
      payload = JSON.stringify(args.body);
      headers["content-type"] ??= "application/json";
    }
  }
  const method = (parsed.method ?? (payload === undefined ? "GET" : "POST")).toUpperCase();
  if (!TOKEN.test(method) || FORBIDDEN_METHODS.has(method)) {
    throw new ActionArgumentError(
      "http",
      "method",
      `is not valid: ${describe(method)} is no HTTP method to send`,
    );
  }
  if (payload !== undefined && (method === "GET" || method === "HEAD")) {
    throw new ActionArgumentError("http", "body", `cannot be sent with method ${method}; use POST or PUT`);
  }

  const { signal } = ctx;
  const where = `${method} ${shown(url)}`;
  let response: HttpExchange;
  try {
    response = await exchange(url, method, headers, payload, signal, ctx.egress ?? DEFAULT_EGRESS_POLICY);
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    if (error instanceof EgressRefusal)
      throw new TaskFailure(`${where} is refused: ${error.reason}.`, {
        type: "EgressRefused",
        retryable: false,
      });
    throw new TaskFailure(`${where} failed: ${networkMessage(error)}`, {
      type: "HttpError",
      retryable: true,
    });
  }
  const text = response.text;

  if (response.status >= 400) {
    const retryable = response.status >= 500 || RETRYABLE_CLIENT_STATUSES.has(response.status);
    const body = snippet(text);
    const message = `${where} answered ${response.status} ${response.statusText}`.trim();
    throw new TaskFailure(body ? `${message}: ${body}` : message, { type: "HttpError", retryable });
  }

  let body: unknown = text;
  if (JSON_TYPE.test(response.headers["content-type"] ?? "")) {
    try {
      body = JSON.parse(text);
    } catch {
      // A server that labels non-JSON (or an empty body) as JSON: keep the text rather than fail.
    }
  }
  const output: HttpOutput = { status: response.status, headers: response.headers, body };
  return output;
};
