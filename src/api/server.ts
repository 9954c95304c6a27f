/**
 * The HTTP API's Fastify app. `buildServer` wires routes, parsers, authentication and error
 * handling around a runtime and returns the app unstarted (tests call `app.inject`);
 * `startServer` refuses unsafe bindings, then listens.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import cors from "@fastify/cors";
import Fastify, { type FastifyInstance } from "fastify";
import { compileActionPolicy } from "../actions/action-policy.js";
import { MAX_NAME_LENGTH } from "../definition/names.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Logger } from "../shared/logger.js";
import { assertSafeBinding, bearerAuth, hostCheck } from "./auth.js";
import { installContentParsers } from "./content.js";
import type { ApiContext } from "./context.js";
import { installErrorHandlers } from "./errors.js";
import { EventHub } from "./event-hub.js";
import { clientErrorHandler, frameworkErrors, timeoutOptions, type ServerTimeouts } from "./limits.js";
import { ApiMetrics } from "./metrics.js";
import { RouteTable } from "./route.js";
import { callbackRoutes } from "./routes/callbacks.js";
import { executionRoutes } from "./routes/executions.js";
import { operationRoutes } from "./routes/operations.js";
import { streamRoutes } from "./routes/stream.js";
import { workflowRoutes } from "./routes/workflows.js";

/** Default largest request body: 1 MiB. Larger ones answer 413. */
export const DEFAULT_BODY_LIMIT = 2 ** 20;

export interface ServerOptions {
  runtime: Runtime;
  /** The bearer token management endpoints require. Default: none (then bind to loopback only). */
  token?: string;
  /** Where clients reach this server; named in the OpenAPI document's `servers`. */
  publicUrl?: string;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Origins allowed to call from browsers (`*` for any). Default: none, CORS off. */
  cors?: readonly string[];
  /**
   * Actions definitions registered over HTTP may use (`*` for all); others answer 403.
   * Default: noop, echo, sleep, fail, http, delegate, workflow (no shell, no js).
   */
  allowActions?: readonly string[];
  /**
   * Where the runtime's `onEvents` publishes (`createRuntime({ onEvents: events.publish })`):
   * metrics count them and live streams wake on them. Default: a hub no engine publishes to,
   * so metrics stay at zero and streams rely on polling.
   */
  events?: EventHub;
  /** Called when runs may have become ready here (an in-process worker's `wake`). */
  wake?: () => void;
  /** Request and connection timeouts (see limits.ts): 30 s for a whole request, 10 s for its headers. */
  timeouts?: Partial<ServerTimeouts>;
  /** Where 5xx errors (with their stacks) and warnings go. Default: stderr. */
  logger?: Logger;
  /** Live streams poll the store this often. Default 200 ms. */
  streamPollMs?: number;
  /** Live streams send a keep-alive comment this often. Default 15 s. */
  streamHeartbeatMs?: number;
}

const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (message) => void process.stderr.write(`weft server: ${message}\n`),
  error: (message, fields) =>
    void process.stderr.write(`weft server: ${message}${fields?.error ? `\n${String(fields.error)}` : ""}\n`),
};

/**
 * Builds the API's Fastify app around `runtime` (not listening yet).
 *
 * @example
 * const events = new EventHub();
 * const runtime = await createRuntime({ store: "memory:", onEvents: events.publish });
 * const app = buildServer({ runtime, events });
 * const res = await app.inject({ method: "GET", url: "/healthz" });
 */
export function buildServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: () => randomUUID(),
    exposeHeadRoutes: false,
    // Names may be MAX_NAME_LENGTH long; Fastify's default (100) answered 414 for longer ones.
    routerOptions: { maxParamLength: MAX_NAME_LENGTH },
    ...timeoutOptions(options.timeouts),
    clientErrorHandler,
    frameworkErrors,
  });
  const events = options.events ?? new EventHub();
  const metrics = new ApiMetrics(options.runtime.store);
  const unsubscribe = events.subscribe((batch) => metrics.observe(batch));
  const ctx: ApiContext = {
    runtime: options.runtime,
    routes: new RouteTable(),
    events,
    metrics,
    logger: options.logger ?? stderrLogger,
    wake: options.wake ?? (() => {}),
    publicUrl: options.publicUrl,
    actionPolicy: compileActionPolicy(options.allowActions),
    streamPollMs: options.streamPollMs ?? 200,
    streamHeartbeatMs: options.streamHeartbeatMs ?? 15_000,
    streams: new Set(),
  };
  installErrorHandlers(app, ctx.logger);
  installContentParsers(app);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.addHook("onRequest", hostCheck(options.token, options.publicUrl));
  app.addHook("onRequest", bearerAuth(options.token));
  // Open event streams would hold the close forever: end them first.
  app.addHook("preClose", async () => {
    for (const end of [...ctx.streams]) end();
  });
  app.addHook("onClose", async () => unsubscribe());
  if (options.cors && options.cors.length > 0) {
    const origins = options.cors;
    void app.register(cors, {
      origin: origins.includes("*") ? "*" : [...origins],
      methods: ["GET", "POST"],
      allowedHeaders: ["authorization", "content-type", "last-event-id"],
      exposedHeaders: ["x-request-id", "location"],
    });
  }
  // Routes go in a plugin so that they are registered after CORS and see its hooks.
  void app.register(async (api) => {
    workflowRoutes(api, ctx);
    executionRoutes(api, ctx);
    streamRoutes(api, ctx);
    callbackRoutes(api, ctx);
    operationRoutes(api, ctx);
  });
  return app;
}

/** Where a server listens, and how to stop it. */
export interface ListeningServer {
  app: FastifyInstance;
  /** `http://HOST:PORT`, with the port actually bound (port 0 picks a free one). */
  url: string;
  close(): Promise<void>;
}

/**
 * Refuses a non-loopback host without a token (see `assertSafeBinding`), then builds and starts the app.
 *
 * @example
 * const server = await startServer({ runtime, host: "127.0.0.1", port: 0 });
 * console.log(server.url);
 */
export async function startServer(
  options: ServerOptions & { host?: string; port?: number },
): Promise<ListeningServer> {
  const host = options.host ?? "127.0.0.1";
  assertSafeBinding(host, options.token);
  const app = buildServer(options);
  await app.listen({ host, port: options.port ?? 8080 });
  const address = app.server.address() as AddressInfo;
  return {
    app,
    url: httpUrl(host, address.port),
    async close() {
      // In-flight requests get a few seconds; then sockets still open (a client's idle spare
      // connection that never sent a request, which Node does not count as idle) are dropped.
      const timer = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** How long `close` waits for open connections before dropping them. */
const CLOSE_GRACE_MS = 3_000;

/** `http://HOST:PORT`, with IPv6 literals in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}
