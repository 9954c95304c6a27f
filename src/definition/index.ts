/**
 * The workflow model: the TypeScript builder, the YAML/JSON DSL, its schema, expressions and validation.
 *
 * @example
 * import { loadWorkflowFile, workflow, evaluateTemplate } from "../definition/index.js";
 */
export * from "./spec.js";
export {
  workflow,
  Workflow,
  type ActionName,
  type ActionTaskOptions,
  type CommonTaskOptions,
  type Deps,
  type FunctionTaskOptions,
  type RetryOptions,
  type TaskFunction,
  type TaskName,
  type WorkflowOptions,
} from "./builder.js";
export {
  BUILDER_FILE,
  DefinitionError,
  formatDiagnostic,
  MAX_REPORTED_DIAGNOSTICS,
  type Diagnostic,
} from "./diagnostics.js";
export {
  checkExpressionSyntax,
  evaluateCondition,
  evaluateTemplate,
  ExpressionError,
  jsonataBoolean,
  type ExpressionScope,
} from "./expressions.js";
export { renderWorkflowJsonSchema, workflowJsonSchema, WORKFLOW_SCHEMA_FILE } from "./json-schema.js";
export { loadWorkflowFile, parseWorkflow, validateWorkflowSource } from "./load.js";
export { assertNameLengths, MAX_NAME_LENGTH, NameTooLongError } from "./names.js";
export { referencedTasks, templateReferences } from "./references.js";
export {
  DSL_ACTIONS,
  DURATION_PATTERN,
  TASK_NAME_PATTERN,
  WORKFLOW_NAME_PATTERN,
  workflowSchema,
  type WorkflowSource,
} from "./schema.js";
export {
  subflowCycle,
  subflowReferences,
  type SubflowReference,
  type WorkflowLookup,
} from "./subflow-references.js";
export { extractExpressions, splitTemplate, type TemplatePart } from "./templates.js";
export { validateSpec } from "./validate-spec.js";
