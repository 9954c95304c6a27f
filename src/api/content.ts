/**
 * Request body parsers. JSON keeps its raw text beside the parsed value (a workflow definition
 * is validated from its text, so diagnostics point at the client's own lines and columns), and
 * an empty JSON body counts as no body (`POST .../cancel` with a JSON content type and nothing
 * else). YAML is accepted as text; only `POST /v1/workflows` takes it.
 */
import type { FastifyInstance } from "fastify";
import { jsonDepth, MAX_JSON_DEPTH } from "../definition/depth.js";
import { ApiError } from "./errors.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The text of a JSON body, as received. */
    rawBody?: string;
  }
}

/** The media types read as YAML workflow definitions. */
export const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml"] as const;

/** A YAML body, kept as text: the route that accepts YAML parses it with positions. */
export class YamlSource {
  constructor(readonly text: string) {}
}

/** Registers the JSON and YAML parsers (Fastify's `text/plain` parser stays). */
export function installContentParsers(app: FastifyInstance): void {
  app.decorateRequest("rawBody", undefined);
  // Fastify's own parser (secure-json-parse): refuses __proto__ and constructor.prototype keys.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.trim() === "") {
      done(null, undefined);
      return;
    }
    void parseJson(request, text, (error, value) => {
      if (error) done(new ApiError(400, "INVALID_JSON", jsonProblem(text), "body"));
      else if (jsonDepth(value) > MAX_JSON_DEPTH) done(tooDeep(`${MAX_JSON_DEPTH} levels`));
      else done(null, value);
    });
  });
  app.addContentTypeParser([...YAML_TYPES], { parseAs: "string" }, (_request, body, done) => {
    done(null, new YamlSource(body as string));
  });
}

/** Why a JSON body was refused, for people (only computed on the error path). */
function jsonProblem(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return `The body is not valid JSON: ${error instanceof Error ? error.message : String(error)}.`;
  }
  return 'The body has a "__proto__" or "constructor.prototype" key: such keys are refused.';
}

/** A body nested deeper than the server accepts (see depth.ts for why there is a limit). */
export function tooDeep(limit: string): ApiError {
  return new ApiError(400, "BODY_TOO_DEEP", `The body nests deeper than ${limit}: flatten it.`, "body");
}
