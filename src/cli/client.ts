/**
 * The CLI as a client of the HTTP API: the commands on stored executions and workflows (`list`,
 * `status`, `events`, `watch`, `cancel`, `retry`, `workflows`, `complete`, `fail`, `start`) with
 * `--server URL` (or $WEFT_SERVER) call a `weft server` with Node's fetch instead of opening the
 * store, and print the same output with the same exit codes. A 4xx answer exits 2 with the server's message.
 */
import type { Command } from "commander";
import { InvalidInputError } from "../shared/errors.js";
import { CliExit, ExitCode, type CliIO } from "./io.js";

/** Where and how to reach the server. */
export interface ServerTarget {
  url: string;
  /** The API token (`--token`, else $WEFT_API_TOKEN). */
  token?: string;
}

/**
 * Adds `--server URL` (and, for management commands, `--token T`) to a command.
 *
 * @example
 * withServerOption(program.command("status").argument("<id>"), { token: true });
 */
export function withServerOption(command: Command, options: { token: boolean }): Command {
  command.option(
    "--server <url>",
    "call a weft server's HTTP API instead of opening the store (default: $WEFT_SERVER)",
  );
  if (options.token) command.option("--token <token>", "the server's API token (default: $WEFT_API_TOKEN)");
  return command;
}

/**
 * The server a command should call, or undefined to use the store. `--server` wins over
 * $WEFT_SERVER, and an explicit `--store` over $WEFT_SERVER; both flags at once are refused.
 */
export function serverTarget(
  options: { server?: string; store?: string; token?: string },
  io: CliIO,
): ServerTarget | undefined {
  if (options.server !== undefined && options.store !== undefined) {
    throw new InvalidInputError("Give --store or --server, not both.");
  }
  const url = options.server ?? (options.store === undefined ? io.env.WEFT_SERVER || undefined : undefined);
  if (url === undefined) {
    if (options.token !== undefined)
      throw new InvalidInputError("--token is the API token of --server URL: give both.");
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`--server must be a URL like http://127.0.0.1:8080, got "${url}".`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new InvalidInputError(`--server must be an http:// or https:// URL, got "${url}".`);
  }
  const token = options.token ?? (io.env.WEFT_API_TOKEN || undefined);
  return { url: url.replace(/\/+$/, ""), ...(token ? { token } : {}) };
}

/** One request to the API; answers the parsed JSON body of a 2xx answer. */
export async function callApi<T>(
  target: ServerTarget,
  method: "GET" | "POST",
  path: string,
  body?: { json: unknown } | { yaml: string },
): Promise<T> {
  const headers = requestHeaders(target, "application/json");
  let payload: string | undefined;
  if (body && "json" in body) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body.json);
  } else if (body) {
    headers["content-type"] = "application/yaml";
    payload = body.yaml;
  }
  const response = await request(target, path, { method, headers, body: payload });
  const text = await response.text();
  const parsed = parseJson(text);
  if (response.ok) return parsed as T;
  throw answerError(response, parsed);
}

/** The headers of a request: what it accepts, and the bearer token when there is one. */
export function requestHeaders(target: ServerTarget, accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  return headers;
}

/** fetch, with a server that cannot be reached said in one line (exit 2). */
export async function request(target: ServerTarget, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(`${target.url}${path}`, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliExit(
      ExitCode.invalid,
      `weft: cannot reach the Weft server at ${target.url}: ${cause?.code ?? cause?.message ?? String(error)}.`,
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/** The exit a non-2xx answer ends the command with: the server's own message. */
export function answerError(response: Response, body: unknown): CliExit {
  const message =
    (body as { error?: { message?: unknown } } | null)?.error?.message ??
    `HTTP ${response.status} ${response.statusText}`;
  // The server's 5xx bodies say "internal error (request id ...)": a failure, not bad input; so is
  // 410, a callback whose execution was updated meanwhile (the command was right, the work moved on).
  const failed = response.status >= 500 || response.status === 410;
  return new CliExit(failed ? ExitCode.failed : ExitCode.invalid, `weft: ${String(message)}`);
}

/** The JSON body of an answer that is not 2xx, for answerError. */
export async function errorBody(response: Response): Promise<unknown> {
  return parseJson(await response.text());
}

/** `/v1/...` with each segment escaped. */
export function apiPath(...segments: string[]): string {
  return `/v1/${segments.map(encodeURIComponent).join("/")}`;
}

/**
 * `weft complete|fail TOKEN --server`: a callback over HTTP, where the token is the only
 * credential, as for any third party. Answers which task of which execution it finished.
 */
export async function callbackOverHttp(
  server: ServerTarget,
  token: string | undefined,
  outcome:
    | { status: "succeeded"; output: unknown }
    | { status: "failed"; error: { type: string; message: string; retryable: boolean } },
): Promise<{ executionId: string; task: string }> {
  if (!token) {
    throw new InvalidInputError(
      "With --server, give the delegate's token: --execution and --task work with --store only.",
    );
  }
  const body = outcome.status === "succeeded" ? { output: outcome.output } : { error: outcome.error };
  const action = outcome.status === "succeeded" ? "complete" : "fail";
  return callApi(server, "POST", `${apiPath("callbacks", token)}/${action}`, { json: body });
}

/**
 * For commands that run work in this process and so must open the store themselves (`weft
 * resume`, `run`, `worker`, `server`): a server given by `--server` or $WEFT_SERVER is refused
 * rather than ignored, unless a store is named too.
 */
export function requireStore(options: { server?: string; store?: string }, io: CliIO, command: string): void {
  if (options.server !== undefined)
    throw new InvalidInputError(
      `${command} runs the execution in this process and needs its store: give --store URL, not --server.`,
    );
  if (options.store === undefined && !io.env.WEFT_STORE && io.env.WEFT_SERVER)
    throw new InvalidInputError(
      `WEFT_SERVER is set, but ${command} runs in this process and needs a store: give --store URL (or set WEFT_STORE, or unset WEFT_SERVER).`,
    );
}
