/** Errors of code-first workflows that the runtime raises. */
import type { ExecutionRecord } from "../engine/store.js";
import { WeftError } from "../shared/errors.js";

/** `resume` was given other functions than the execution was started with (or none). */
export class CodeMismatchError extends WeftError {
  constructor(execution: ExecutionRecord, given: string | null) {
    super(
      "CODE_MISMATCH",
      `Execution "${execution.id}" of workflow "${execution.workflow}" was started with functions of code id ` +
        `"${execution.code}", but ${given === null ? "no functions were given" : `the functions given have code id "${given}"`}: ` +
        "pass the same workflow it was started with.",
    );
  }
}
