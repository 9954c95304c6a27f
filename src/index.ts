/**
 * Weft's public library API.
 *
 * @example
 * import { workflow, createRuntime } from "weft";
 * const flow = workflow("hello").task("hi", { action: "echo", with: { message: "hi" } });
 * const runtime = await createRuntime({ store: "sqlite:.weft/weft.db" });
 * const execution = await runtime.run(flow);
 */
export {
  workflow,
  Workflow,
  parseWorkflow,
  loadWorkflowFile,
  validateWorkflowSource,
  DefinitionError,
  type Diagnostic,
  type TaskFunction,
  type WorkflowOptions,
} from "./definition/index.js";
export type { WorkflowSpec, TaskSpec, RetryPolicy, TaskContext } from "./definition/spec.js";
export { Engine, type Outcome, type RunRef, type StepResult, type CallbackResult } from "./engine/engine.js";
export { ExecutionStatus, TaskStatus } from "./engine/states.js";
export type { Store, StoreTx, ExecutionRecord, TaskRunRecord, ExecutionEvent } from "./engine/store.js";
export { createRuntime, type Runtime, type RuntimeOptions, type RunOptions } from "./runtime/runtime.js";
export { openStore, DEFAULT_STORE_URL } from "./runtime/open-store.js";
export { Origin } from "./engine/store.js";
export {
  compileRunPolicy,
  DEFAULT_RUN_POLICY,
  type RunPolicy,
  type RunPolicyOptions,
} from "./actions/run-policy.js";
export { DEFAULT_HTTP_ACTIONS } from "./actions/action-policy.js";
export { MemoryStore } from "./stores/memory/memory-store.js";
export {
  WeftError,
  TaskFailure,
  InvalidInputError,
  ExecutionNotFoundError,
  type TaskError,
} from "./shared/errors.js";
