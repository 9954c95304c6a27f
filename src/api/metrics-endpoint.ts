/**
 * The HTTP endpoint of `weft worker --metrics-port`: `GET /metrics` and nothing else, on
 * node:http (a worker has no API, so it does not need Fastify's routing, schemas or hooks).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ProcessMetrics } from "./metrics.js";

/** A listening metrics endpoint. */
export interface MetricsEndpoint {
  /** Where Prometheus scrapes it, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** Stops listening; resolves once open connections are closed. */
  close(): Promise<void>;
}

/**
 * Serves `metrics` on `host:port` (port 0: any free port, reported in `url`).
 *
 * @example
 * const endpoint = await serveMetrics(new WorkerMetrics(), "127.0.0.1", 9464);
 */
export async function serveMetrics(
  metrics: ProcessMetrics,
  host: string,
  port: number,
): Promise<MetricsEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      response.end(`Not found: ${path}. This endpoint serves GET /metrics only.\n`);
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      response.end(`Method ${request.method} is not allowed on /metrics: use GET.\n`);
      return;
    }
    metrics.render().then(
      (text) => {
        response.writeHead(200, { "content-type": metrics.contentType });
        response.end(request.method === "HEAD" ? undefined : text);
      },
      () => {
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        response.end("The metrics could not be rendered; see the worker's log.\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
