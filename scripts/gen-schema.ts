/**
 * Writes schema/workflow.schema.json from the zod schema (src/definition/schema.ts), the source of truth.
 * Run it after changing the DSL: `npm run schema`. `--check` only says whether the file is up to date
 * (exit 1 when stale), which is what test/definition/json-schema.test.ts asserts too.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderWorkflowJsonSchema, WORKFLOW_SCHEMA_FILE } from "../src/definition/json-schema.js";

const target = fileURLToPath(new URL(`../${WORKFLOW_SCHEMA_FILE}`, import.meta.url));
const text = renderWorkflowJsonSchema();

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // A missing file is stale too.
  }
  if (current !== text) {
    console.error(`${WORKFLOW_SCHEMA_FILE} is stale: run npm run schema`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${WORKFLOW_SCHEMA_FILE}`);
}
