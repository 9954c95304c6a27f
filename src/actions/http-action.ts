/**
 * `http`: one HTTP request with Node's built-in `fetch`. Server errors and network failures
 * are worth retrying; client errors are not, since the same request would be refused again.
 */
import { TaskFailure } from "../shared/errors.js";
import { abortReason, ActionArgumentError, type Action } from "./action.js";
import { describe, optionalStringMap, optionalString, requireString } from "./arguments.js";

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

/** undici reports "fetch failed" and hides the useful part ("connect ECONNREFUSED ...") in `cause`. */
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

/**
 * `http`: `with.url` (required), `with.method` (default GET, or POST when a body is given),
 * `with.headers`, `with.body` (a string is sent as is; any other JSON value as JSON, with
 * content-type application/json unless a content-type header is given).
 * Output `{ status, headers, body }`. 5xx, 408, 429 and network errors fail retryably with
 * type "HttpError"; other 4xx fail for good.
 *
 * @example
 * // with: { url: "https://api.example.com/orders", body: { id: 7 } } -> POST, output { status: 201, ... }
 */
export const httpAction: Action = async (args, ctx) => {
  const url = parseUrl(requireString("http", args, "url"));
  let headers: Headers;
  try {
    headers = new Headers(optionalStringMap("http", args, "headers"));
  } catch (error) {
    if (error instanceof ActionArgumentError) throw error;
    throw new ActionArgumentError("http", "headers", `is not valid: ${(error as Error).message}`);
  }

  let payload: string | undefined;
  if (args.body !== undefined && args.body !== null) {
    if (typeof args.body === "string") payload = args.body;
    else {
      payload = JSON.stringify(args.body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
  }
  const method = (
    optionalString("http", args, "method") ?? (payload === undefined ? "GET" : "POST")
  ).toUpperCase();
  if (payload !== undefined && (method === "GET" || method === "HEAD")) {
    throw new ActionArgumentError("http", "body", `cannot be sent with method ${method}; use POST or PUT`);
  }

  let request: Request;
  try {
    // Built apart from fetch so that a bad method is told from a network failure.
    request = new Request(url, { method, headers, body: payload });
  } catch (error) {
    throw new ActionArgumentError("http", "method", `is not valid: ${(error as Error).message}`);
  }

  const { signal } = ctx;
  const where = `${method} ${shown(url)}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(request, { signal });
    text = await response.text();
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    throw new TaskFailure(`${where} failed: ${networkMessage(error)}`, {
      type: "HttpError",
      retryable: true,
    });
  }

  if (response.status >= 400) {
    const retryable = response.status >= 500 || RETRYABLE_CLIENT_STATUSES.has(response.status);
    const body = snippet(text);
    const message = `${where} answered ${response.status} ${response.statusText}`.trim();
    throw new TaskFailure(body ? `${message}: ${body}` : message, { type: "HttpError", retryable });
  }

  let body: unknown = text;
  if (JSON_TYPE.test(response.headers.get("content-type") ?? "")) {
    try {
      body = JSON.parse(text);
    } catch {
      // A server that labels non-JSON (or an empty body) as JSON: keep the text rather than fail.
    }
  }
  const output: HttpOutput = { status: response.status, headers: Object.fromEntries(response.headers), body };
  return output;
};
