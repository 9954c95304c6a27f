import { WeftError } from "../shared/errors.js";

/** `weft start NAME` or `POST /v1/executions` named a workflow no one registered. */
export class WorkflowNotFoundError extends WeftError {
  constructor(
    readonly workflow: string,
    readonly version?: number,
  ) {
    super(
      "WORKFLOW_NOT_FOUND",
      `Workflow "${workflow}"${version === undefined ? "" : ` version ${version}`} is not registered: register it with 'weft start FILE' or POST /v1/workflows.`,
    );
  }
}

/** A definition registered under a version that already holds another one. */
export class WorkflowVersionConflictError extends WeftError {
  constructor(
    readonly workflow: string,
    readonly version: number,
  ) {
    super(
      "WORKFLOW_VERSION_CONFLICT",
      `Workflow "${workflow}" version ${version} is already registered with a different definition: give the new one another version.`,
    );
  }
}

/** An operation that the execution's or task's current state does not allow (HTTP 409). */
export class StateConflictError extends WeftError {
  constructor(message: string, code = "STATE_CONFLICT") {
    super(code, message);
  }
}

/** Another update, rollback or undo started a traversal first: this one changed nothing (HTTP 409). */
export class TraversalConflictError extends StateConflictError {
  constructor(executionId: string) {
    super(
      `execution ${executionId} was updated by someone else meanwhile: nothing was changed; look at it again (weft status ${executionId}) and retry`,
      "TRAVERSAL_CONFLICT",
    );
  }
}

/**
 * A definition whose literal sub-workflow references lead back to itself (registration refuses
 * it: its executions would nest until the depth limit failed them).
 */
export class RecursiveWorkflowError extends WeftError {
  constructor(
    readonly workflow: string,
    /** The chain of references, `task -> workflow` steps from the workflow back to itself. */
    readonly chain: readonly string[],
  ) {
    super(
      "RECURSIVE_WORKFLOW",
      `Workflow "${workflow}" starts itself through its sub-workflows: ${chain.join(" -> ")}. ` +
        "Remove the reference that leads back, or compute it with an expression if the recursion is bounded.",
    );
  }
}
