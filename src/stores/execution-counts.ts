/** The starting point of every adapter's `countExecutions`: a status no row has still answers 0. */
import type { ExecutionCounts } from "../engine/store.js";
import { ExecutionStatus } from "../engine/states.js";

/** Every execution status, counted 0. */
export function zeroCounts(): ExecutionCounts {
  return Object.fromEntries(Object.values(ExecutionStatus).map((status) => [status, 0])) as ExecutionCounts;
}
