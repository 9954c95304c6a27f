/**
 * The JSON Schema of workflow files, generated from the zod schema so the two cannot disagree.
 * `npm run schema` writes it to `schema/workflow.schema.json`; a test fails when that file is stale.
 * Editors use it for completion and hover text: every field carries a description.
 */
import { z } from "zod";
import { ACTION_ARGUMENTS, EXPRESSION_STRING } from "./action-arguments.js";
import { DSL_ACTIONS, workflowSchema } from "./schema.js";

type JsonSchema = Record<string, unknown>;

/** Where the generated file lives, relative to the package root. */
export const WORKFLOW_SCHEMA_FILE = "schema/workflow.schema.json";

/**
 * The JSON Schema (draft 2020-12) of a workflow document as written (`io: "input"`).
 *
 * @example
 * workflowJsonSchema().title // "Weft workflow"
 */
export function workflowJsonSchema(): Record<string, unknown> {
  const schema = toJson(workflowSchema);
  const tasks = (schema.properties as Record<string, JsonSchema>).tasks!;
  const task = tasks.additionalProperties as JsonSchema;
  byAction(task);
  byAction((task.properties as Record<string, JsonSchema>).undo!);
  return schema;
}

function toJson(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" }) as JsonSchema;
}

/**
 * Makes a task (or undo) schema a union on `action`: one `if action is A then with is A's` branch per
 * action, so editors complete and check `with` for the action written. `if`/`then` rather than
 * `oneOf`: an editor then reports the one branch that applies, not every branch that failed.
 */
function byAction(target: JsonSchema): void {
  target.allOf = DSL_ACTIONS.map((action) => {
    const { $schema: _, ...arguments_ } = toJson(ACTION_ARGUMENTS[action]);
    return {
      if: { properties: { action: { const: action } }, required: ["action"] },
      then: { properties: { with: allowExpressions(arguments_) } },
    };
  });
}

/** An expression string may stand for any value: each field of `with` also accepts one (checked by weft validate). */
function allowExpressions(schema: JsonSchema): JsonSchema {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties === undefined) return schema;
  const expression = {
    type: "string",
    pattern: EXPRESSION_STRING.source,
    description: "A ${{ }} expression, evaluated when the task runs.",
  };
  const fields = Object.fromEntries(
    Object.entries(properties).map(([name, field]) => {
      if (field.type === "string" || Object.keys(field).every((key) => key === "description"))
        return [name, field];
      // A nested mapping (notify, env) keeps its own fields open to expressions too.
      const inner = field.anyOf === undefined ? allowExpressions(field) : field;
      return [name, { anyOf: [inner, expression], description: field.description }];
    }),
  );
  return { ...schema, properties: fields };
}

/** The file's exact text: two-space JSON and a final newline. */
export function renderWorkflowJsonSchema(): string {
  return `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`;
}
