/** `/healthz`, `/metrics` and `/openapi.json`: what operators and tools read. */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ApiContext } from "../context.js";
import { STORE_RETRY_AFTER_S } from "../errors.js";
import { openApiDocument } from "../openapi.js";
import { healthResponse } from "../responses.js";

/** How long the health check waits for the store before calling it unavailable. */
const HEALTH_TIMEOUT_MS = 2_000;

export function operationRoutes(app: FastifyInstance, ctx: ApiContext): void {
  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/healthz",
      operationId: "health",
      summary: "Whether the server and its store answer",
      tag: "operations",
      access: "public",
      responses: {
        200: { description: "The store answered.", schema: healthResponse },
        503: {
          description:
            "The store did not answer in time, or answered that it is unavailable: `reason` says why.",
          schema: healthResponse,
        },
      },
    },
    async (_request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        // A point read of an id no one has: it touches the store without reading much.
        await Promise.race([
          ctx.runtime.store.getExecution("healthz"),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer in ${HEALTH_TIMEOUT_MS} ms`)),
              HEALTH_TIMEOUT_MS,
            );
          }),
        ]);
        return { status: "ok" };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        ctx.logger.warn(`health check: the store does not answer: ${reason}`);
        return reply
          .status(503)
          .header("retry-after", String(STORE_RETRY_AFTER_S))
          .send({ status: "unavailable", reason });
      } finally {
        clearTimeout(timer);
      }
    },
  );

  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/metrics",
      operationId: "metrics",
      summary: "Metrics in the Prometheus text format",
      description:
        "From the store at each scrape (every process's work): weft_executions{status}, weft_ready_runs, " +
        "weft_store_up. Counted from the events this process's engine committed: weft_executions_total{status}, " +
        "weft_task_attempts_total{kind,outcome}, weft_task_duration_seconds{kind,outcome}, weft_leases_reaped_total " +
        "(workers serve theirs with `weft worker --metrics-port`).",
      tag: "operations",
      access: "management",
      responses: {
        200: {
          description: "Prometheus exposition text.",
          contentType: "text/plain",
          schema: z.string(),
        },
      },
    },
    async (_request, reply) => reply.type(ctx.metrics.contentType).send(await ctx.metrics.render()),
  );

  let document: Record<string, unknown> | undefined;
  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/openapi.json",
      operationId: "openapi",
      summary: "This API's OpenAPI 3.1 document",
      tag: "operations",
      access: "public",
      responses: {
        200: { description: "The document.", schema: z.record(z.string(), z.unknown()) },
      },
    },
    // Built on first use, once every route is registered.
    async () => (document ??= openApiDocument(ctx.routes.routes, { publicUrl: ctx.publicUrl })),
  );
}
