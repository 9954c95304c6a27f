/** `POST /v1/workflows`, `GET /v1/workflows`, `GET /v1/workflows/{name}`: registered definitions. */
import { parseWorkflow, workflowSchema } from "../../definition/index.js";
import { assertAllowedActions } from "../definitions.js";
import { Origin, type WorkflowRecord } from "../../engine/store.js";
import type { ApiContext } from "../context.js";
import { tooDeep, YAML_TYPES, YamlSource } from "../content.js";
import { MAX_DEFINITION_DEPTH, yamlDepthBound } from "../../definition/depth.js";
import { ApiError } from "../errors.js";
import { workflowDetail, workflowList, workflowRef, type workflowSummary } from "../responses.js";
import { parseRequest, workflowParams, workflowQuery } from "../schemas.js";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { z } from "zod";

/** Diagnostics name the definition "request": `request:3:5: message`, as `weft validate` prints a file's. */
export const REQUEST_FILE = "request";

/**
 * The definition's text, as received: YAML as it is, JSON as its raw text (JSON is YAML), so
 * diagnostics point at the client's own lines and columns.
 */
function definitionText(request: FastifyRequest): string {
  const body = request.body;
  if (body instanceof YamlSource) return body.text;
  if (typeof body === "string") {
    throw new ApiError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "Send the definition as JSON (content-type: application/json) or YAML (content-type: application/yaml).",
    );
  }
  if (body === undefined || request.rawBody === undefined) {
    throw new ApiError(
      400,
      "INVALID_REQUEST",
      "Send a workflow definition in the body, as JSON or YAML.",
      "body",
    );
  }
  return request.rawBody;
}

function summary(record: WorkflowRecord): z.input<typeof workflowSummary> {
  return {
    name: record.name,
    version: record.version,
    ...(record.spec.description ? { description: record.spec.description } : {}),
    tasks: Object.keys(record.spec.tasks).length,
    origin: record.origin,
    createdAt: new Date(record.createdAt).toISOString(),
  };
}

export function workflowRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { engine, store } = ctx.runtime;

  ctx.routes.add(
    app,
    {
      method: "POST",
      url: "/v1/workflows",
      operationId: "registerWorkflow",
      summary: "Register a workflow definition",
      description:
        "The body is a definition as JSON, or as YAML with content-type application/yaml. Without a `version` it " +
        "becomes the next version unless it equals the latest. An invalid one answers 400 with `weft validate`'s messages.",
      tag: "workflows",
      access: "management",
      body: {
        schema: workflowSchema,
        required: true,
        alternatives: Object.fromEntries(
          YAML_TYPES.map((type) => [type, { description: "The definition in the YAML DSL." }]),
        ),
      },
      responses: {
        201: { description: "Registered (or already registered, unchanged).", schema: workflowRef },
        403: {
          description: "The definition uses an action this server does not allow (see --allow-actions).",
        },
        409: { description: "Another definition is registered under this version." },
      },
    },
    async (request, reply) => {
      const text = definitionText(request);
      if (yamlDepthBound(text) > MAX_DEFINITION_DEPTH)
        throw tooDeep(`${MAX_DEFINITION_DEPTH} levels of indentation and brackets`);
      const spec = parseWorkflow(text, REQUEST_FILE);
      assertAllowedActions(spec, ctx.actionPolicy, "body");
      const record = await engine.registerWorkflow(spec, Origin.http);
      return reply.status(201).send({ name: record.name, version: record.version });
    },
  );

  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/v1/workflows",
      operationId: "listWorkflows",
      summary: "List registered workflows (the highest version of each)",
      tag: "workflows",
      access: "management",
      responses: { 200: { description: "Every registered workflow, by name.", schema: workflowList } },
    },
    async () => ({ workflows: (await store.listWorkflows()).map(summary) }),
  );

  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/v1/workflows/:name",
      operationId: "getWorkflow",
      summary: "One registered workflow, with its compiled definition",
      tag: "workflows",
      access: "management",
      params: workflowParams,
      query: workflowQuery,
      responses: {
        200: { description: "The highest version, or the one asked for.", schema: workflowDetail },
        404: { description: "No such workflow (or version)." },
      },
    },
    async (request) => {
      const { name } = parseRequest(workflowParams, request.params, "path");
      const { version } = parseRequest(workflowQuery, request.query, "query");
      const record = await engine.getWorkflow(name, version);
      return {
        name: record.name,
        version: record.version,
        origin: record.origin,
        createdAt: new Date(record.createdAt).toISOString(),
        spec: record.spec,
      };
    },
  );
}
