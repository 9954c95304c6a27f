/**
 * Recording a new execution inside a transaction: its record, its runs (roots ready) and its
 * history. Shared by `Engine.start` (an execution started by a person or a program) and by
 * sub-workflows (subflows.ts: an execution started by a parent's run), so both plan alike.
 */
import type { WorkflowSpec } from "../definition/spec.js";
import { newId } from "../shared/ids.js";
import { planRuns } from "./plan.js";
import { EventType, Origin, type ExecutionRecord, type ParentRun } from "./store.js";
import { endExecution, type Transition } from "./transitions.js";

/** What a new execution is, besides its spec and its (already resolved) input. */
export interface NewExecution {
  id: string;
  baseDir?: string | null;
  origin?: Origin;
  code?: string | null;
  parent?: ParentRun | null;
  depth?: number;
}

/** Inserts the execution and its runs in `t`, and marks its roots ready; answers its record. */
export async function recordExecution(
  t: Transition,
  spec: WorkflowSpec,
  resolvedInput: Record<string, unknown>,
  fields: NewExecution,
): Promise<ExecutionRecord> {
  const { now } = t;
  const id = fields.id;
  const traversal = newId();
  const { layout } = t.specs.remember(id, traversal, spec);
  const execution: ExecutionRecord = {
    id,
    workflow: spec.name,
    version: spec.version ?? null,
    spec,
    input: resolvedInput,
    status: "running",
    traversal,
    output: null,
    error: null,
    failures: 0,
    endStatus: null,
    deadline: spec.timeout !== undefined ? now + spec.timeout : null,
    baseDir: fields.baseDir ?? null,
    origin: fields.origin ?? Origin.direct,
    code: fields.code ?? null,
    parent: fields.parent ?? null,
    depth: fields.depth ?? 0,
    base: 0,
    // Its whole layout: the undos and their end are inserted only when it compensates.
    nextSeq: layout.size,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
  };
  const runs = planRuns(spec, layout, id, traversal, now, execution.code);
  await t.tx.insertExecution(execution);
  await t.tx.insertRuns(runs);
  const data: Record<string, unknown> = { workflow: spec.name, input: resolvedInput };
  if (execution.parent) data.parent = execution.parent.executionId;
  t.event({ executionId: id, type: EventType.executionCreated, status: "running", data });
  for (const run of runs) if (run.status === "ready") t.markReady(run);
  if (layout.order.length === 0) await endExecution(t, execution, "succeeded", null);
  return execution;
}
