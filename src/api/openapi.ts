/**
 * `/openapi.json`: an OpenAPI 3.1 document generated from the route table and its zod schemas
 * (`z.toJSONSchema`, draft 2020-12, which is OpenAPI 3.1's dialect). Shared schemas become
 * `components.schemas` entries; the workflow body is the DSL's own `workflowSchema`.
 */
import { createRequire } from "node:module";
import { z } from "zod";
import { workflowSchema } from "../definition/index.js";
import {
  errorResponse,
  executionEvent,
  executionReport,
  executionSummary,
  workflowSummary,
} from "./responses.js";
import type { RouteDoc } from "./route.js";
import { queryIntegers } from "./schemas.js";

type Json = Record<string, unknown>;
type Registry = ReturnType<typeof z.registry<{ id: string }>>;

const { version, license } = createRequire(import.meta.url)("../../package.json") as {
  version: string;
  license: string;
};

/** Schemas referenced from several places, under stable component names. */
const SHARED: readonly [z.ZodType, string][] = [
  [errorResponse, "Error"],
  [executionReport, "ExecutionReport"],
  [executionSummary, "ExecutionSummary"],
  [executionEvent, "ExecutionEvent"],
  [workflowSummary, "WorkflowSummary"],
  [workflowSchema, "Workflow"],
];

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Collects every schema a document mentions into one registry per direction, so refs resolve. */
class Components {
  private readonly ids = new Map<z.ZodType, string>();
  readonly input: Registry = z.registry<{ id: string }>();
  readonly output: Registry = z.registry<{ id: string }>();

  name(schema: z.ZodType, id: string, io: "input" | "output"): string {
    const known = this.ids.get(schema);
    if (known) return known;
    this.ids.set(schema, id);
    (io === "input" ? this.input : this.output).add(schema, { id });
    return id;
  }

  render(): Json {
    const schemas: Json = {};
    for (const [registry, io] of [
      [this.input, "input"],
      [this.output, "output"],
    ] as const) {
      const rendered = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}` });
      for (const [id, schema] of Object.entries(rendered.schemas)) {
        const { $schema: _schema, $id: _id, ...rest } = schema as Json;
        schemas[id] = rest;
      }
    }
    return schemas;
  }
}

/** Query integers are text on the wire, integers to clients: declared as what clients send. */
function integerParameters(ctx: { zodSchema: unknown; jsonSchema: Json }): void {
  const range = queryIntegers.get(ctx.zodSchema as z.ZodType);
  if (!range) return;
  for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
  Object.assign(ctx.jsonSchema, { type: "integer", ...range });
}

function parameters(object: z.ZodObject | undefined, location: "path" | "query"): Json[] {
  if (!object) return [];
  const schema = z.toJSONSchema(object, { io: "input", override: integerParameters }) as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === "path" || (schema.required ?? []).includes(name),
    schema: property,
  }));
}

function operation(route: RouteDoc, components: Components): Json {
  const responses: Json = {};
  const errors: Record<number, string> = {
    500: "Internal error: the body names a request id for the server's log.",
    503: "The store is unavailable for now (restarting, unreachable, locked or full): nothing was applied; retry after `Retry-After` seconds.",
  };
  if (route.params || route.query || route.body)
    errors[400] = "Invalid request: the message names the field.";
  // The Host check answers every route of a server without a token (see auth.ts).
  errors[421] =
    "The server has no API token and the request's Host is neither a loopback name nor the public URL's host.";
  if (route.access === "management")
    errors[401] = "The server has an API token and the request did not send it.";
  if (route.body) {
    errors[413] = "The body is over the server's limit (default 1 MiB).";
    errors[415] = "The content type is not accepted here.";
  }
  for (const [status, description] of Object.entries(errors)) {
    responses[status] = { description, content: { "application/json": { schema: ref("Error") } } };
  }
  for (const [status, doc] of Object.entries(route.responses)) {
    const schema = doc.schema
      ? ref(components.name(doc.schema, `${upper(route.operationId)}${status}`, "output"))
      : Number(status) >= 400
        ? ref("Error")
        : undefined;
    responses[status] = {
      description: doc.description,
      ...(schema ? { content: { [doc.contentType ?? "application/json"]: { schema } } } : {}),
    };
  }
  const body = route.body
    ? {
        requestBody: {
          required: route.body.required,
          content: {
            "application/json": {
              schema: ref(components.name(route.body.schema, `${upper(route.operationId)}Request`, "input")),
            },
            ...Object.fromEntries(
              Object.entries(route.body.alternatives ?? {}).map(([type, { description }]) => [
                type,
                { schema: { type: "string", description } },
              ]),
            ),
          },
        },
      }
    : {};
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security: route.access === "management" ? [{ bearer: [] }] : [],
    parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query")],
    ...body,
    responses,
  };
}

const upper = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Fastify's `/v1/executions/:id` as OpenAPI's `/v1/executions/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

/**
 * The OpenAPI 3.1 document of `routes`; `publicUrl`, when known, is its server.
 *
 * @example
 * const doc = openApiDocument(table.routes, { publicUrl: "http://127.0.0.1:8080" });
 */
export function openApiDocument(routes: readonly RouteDoc[], options: { publicUrl?: string } = {}): Json {
  const components = new Components();
  for (const [schema, id] of SHARED)
    components.name(schema, id, schema === workflowSchema ? "input" : "output");
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const path = (paths[openApiPath(route.url)] ??= {});
    path[route.method.toLowerCase()] = operation(route, components);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Weft HTTP API",
      version,
      description:
        "Start, watch and finish executions of Weft workflows. Management endpoints need " +
        "'Authorization: Bearer TOKEN' when the server has a token; callbacks authenticate by their own token.",
      license: { name: license, identifier: license },
    },
    // Without a public URL, "/" resolves against where the document was fetched from: this server.
    servers: [
      options.publicUrl
        ? { url: options.publicUrl }
        : { url: "/", description: "The server this document was fetched from." },
    ],
    tags: [
      { name: "workflows", description: "Registered workflow definitions." },
      { name: "executions", description: "Runs of workflows: start, list, inspect, watch, cancel, retry." },
      { name: "callbacks", description: "Third parties finishing delegate tasks, by their callback token." },
      { name: "operations", description: "Health, metrics and this document." },
    ],
    paths,
    components: {
      schemas: components.render(),
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
  };
}
