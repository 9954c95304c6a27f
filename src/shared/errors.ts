/**
 * The root of every error Weft raises on purpose. `code` is stable and machine-readable;
 * `message` is a sentence for people that quotes the bad value and says what to do.
 *
 * @example
 * try { ... } catch (e) { if (e instanceof WeftError && e.code === "EXECUTION_NOT_FOUND") ... }
 */
export class WeftError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Where something is in a source file: 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

/** Formats a location the way compilers do: `file:line:col`. */
export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.col}`;
}

/** Input the user gave is invalid (exit code 2, HTTP 400). */
export class InvalidInputError extends WeftError {
  constructor(message: string) {
    super("INVALID_INPUT", message);
  }
}

/** An execution id that no store holds. */
export class ExecutionNotFoundError extends WeftError {
  readonly executionId: string;

  constructor(executionId: string) {
    super(
      "EXECUTION_NOT_FOUND",
      `Execution "${executionId}" was not found. 'weft list' shows the executions.`,
    );
    this.executionId = executionId;
  }
}

/** The plain-data description of a task failure, as stored and reported (never thrown through the engine). */
export interface TaskError {
  /** A short class of failure: "Error", "TimeoutError", "LeaseExpired", "HttpError", ... */
  type: string;
  message: string;
  /** false stops the retry policy: the task fails at once. */
  retryable: boolean;
}

/**
 * Thrown by a task body to fail with a chosen `retryable` flag and type.
 *
 * @example
 * throw new TaskFailure("card declined", { retryable: false });
 */
export class TaskFailure extends WeftError {
  readonly retryable: boolean;
  readonly type: string;

  constructor(message: string, options: { retryable?: boolean; type?: string } = {}) {
    super("TASK_FAILED", message);
    this.retryable = options.retryable ?? true;
    this.type = options.type ?? "TaskFailure";
  }
}

/** Turns anything a task body threw into the stored form. Non-Error values become their string. */
export function toTaskError(thrown: unknown): TaskError {
  if (thrown instanceof TaskFailure) {
    return { type: thrown.type, message: thrown.message, retryable: thrown.retryable };
  }
  if (thrown instanceof Error) {
    const retryable = (thrown as { retryable?: unknown }).retryable;
    return {
      type: thrown.name || "Error",
      message: thrown.message,
      retryable: typeof retryable === "boolean" ? retryable : true,
    };
  }
  return { type: "Error", message: String(thrown), retryable: true };
}

/**
 * The store cannot be reached or cannot write for now: its server restarted, the connection was
 * terminated, another process holds the SQLite write lock, the disk is full. Nothing was applied
 * (or, for a lost COMMIT, it was applied once: every write is a compare-and-set), so the caller
 * may run the same transaction again. Long-lived processes wait and retry (see worker/store-outage.ts);
 * the HTTP API answers 503 with Retry-After.
 *
 * @example
 * throw new StoreUnavailableError("sqlite:.weft/weft.db", "the store's disk is full: database or disk is full");
 */
export class StoreUnavailableError extends WeftError {
  /** The store, as its URL without credentials. */
  readonly store: string;
  /** Why, in a few words ("the server is not accepting connections", "the store's disk is full: ..."). */
  readonly reason: string;

  constructor(store: string, reason: string, cause?: unknown) {
    super("STORE_UNAVAILABLE", `The store ${store} is unavailable: ${reason}.`);
    this.store = store;
    this.reason = reason;
    if (cause !== undefined) this.cause = cause;
  }
}

/** Whether `error` is a store outage (retry later) rather than a bug or bad input. */
export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError;
}
