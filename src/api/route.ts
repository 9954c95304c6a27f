/**
 * Routes are declared once, as data that both Fastify and the OpenAPI document read: a route
 * cannot be served undocumented or documented unserved without a test noticing (the test
 * compares `/openapi.json` with the routes Fastify actually registered).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";
import type { z } from "zod";
import type { Access } from "./auth.js";

/** One documented answer of a route. Error statuses without a schema answer the shared error body. */
export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Default `application/json`. */
  contentType?: string;
}

/** What the OpenAPI document says of a route, and how Fastify serves it. */
export interface RouteDoc {
  method: Extract<HTTPMethods, "GET" | "POST">;
  /** Fastify's form: `/v1/executions/:id`. */
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: "workflows" | "executions" | "callbacks" | "operations";
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: {
    schema: z.ZodType;
    required: boolean;
    /** Other media types with their documentation (YAML definitions). */
    alternatives?: Record<string, { description: string }>;
  };
  responses: Record<number, ResponseDoc>;
}

export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** The routes of one server, in registration order. */
export class RouteTable {
  readonly routes: RouteDoc[] = [];

  /** Serves `doc` with `handler` and records it for the OpenAPI document. */
  add(app: FastifyInstance, doc: RouteDoc, handler: Handler): void {
    this.routes.push(doc);
    app.route({ method: doc.method, url: doc.url, config: { access: doc.access }, handler });
  }
}
