/**
 * Weft's HTTP API (issue 5): `serve` for a whole deployment in one process, `buildServer` for
 * the Fastify app alone (tests, embedding), and the pieces they are built of.
 *
 * @example
 * import { serve } from "./api/index.js";
 * const server = await serve({ store: "sqlite:.weft/weft.db", port: 8080, workers: 4 });
 */
export { assertSafeBinding, hostCheck, isLoopbackHost, type Access } from "./auth.js";
export { ApiError, errorAnswer, type ErrorBody } from "./errors.js";
export { EventHub, type EventListener } from "./event-hub.js";
export { DEFAULT_TIMEOUTS, type ServerTimeouts } from "./limits.js";
export { ApiMetrics, ProcessMetrics, WorkerMetrics } from "./metrics.js";
export { serveMetrics, type MetricsEndpoint } from "./metrics-endpoint.js";
export { openApiDocument, openApiPath } from "./openapi.js";
export type { RouteDoc } from "./route.js";
export { serve, type RunningServer, type ServeOptions } from "./serve.js";
export {
  buildServer,
  DEFAULT_BODY_LIMIT,
  httpUrl,
  startServer,
  type ListeningServer,
  type ServerOptions,
} from "./server.js";
