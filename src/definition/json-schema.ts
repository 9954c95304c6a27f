/**
 * The JSON Schema of workflow files, generated from the zod schema so the two cannot disagree.
 * `npm run schema` writes it to `schema/workflow.schema.json`; a test fails when that file is stale.
 * Editors use it for completion and hover text: every field carries a description.
 */
import { z } from "zod";
import { workflowSchema } from "./schema.js";

/** Where the generated file lives, relative to the package root. */
export const WORKFLOW_SCHEMA_FILE = "schema/workflow.schema.json";

/**
 * The JSON Schema (draft 2020-12) of a workflow document as written (`io: "input"`).
 *
 * @example
 * workflowJsonSchema().title // "Weft workflow"
 */
export function workflowJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(workflowSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
}

/** The file's exact text: two-space JSON and a final newline. */
export function renderWorkflowJsonSchema(): string {
  return `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`;
}
