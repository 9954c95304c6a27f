import type { WorkflowSpec } from "../definition/spec.js";
import { subflowCycle } from "../definition/subflow-references.js";
import { RecursiveWorkflowError, WorkflowNotFoundError, WorkflowVersionConflictError } from "./errors.js";
import { Origin, type Store, type StoreTx, type WorkflowRecord } from "./store.js";

/** The same definition with the same functions, whatever version each carries. */
function sameSpec(record: WorkflowRecord | undefined, spec: WorkflowSpec, code: string | null): boolean {
  if (record === undefined || record.code !== code) return false;
  const { version: _a, ...stored } = record.spec;
  const { version: _b, ...given } = spec;
  return JSON.stringify(stored) === JSON.stringify(given);
}

/**
 * Registers a workflow definition. A spec with a `version` is stored under it (the same
 * definition again is a no-op; another definition under a taken version is refused); without
 * one, it becomes the next version unless it equals the latest. `origin` (default `direct`) is
 * recorded with a new version; a definition already registered keeps the origin it has, so
 * sending a trusted definition again over HTTP neither changes nor weakens it. `code` is the code
 * id of a builder workflow's functions (null: none): the same spec with changed functions is
 * another definition, so a worker never runs one version's tasks with another's functions.
 *
 * @example
 * const { name, version } = await registerWorkflow(store, spec, Date.now(), Origin.http);
 */
export async function registerWorkflow(
  store: Store,
  spec: WorkflowSpec,
  now: number,
  origin: Origin = Origin.direct,
  code: string | null = null,
): Promise<WorkflowRecord> {
  return store.transaction(async (tx) => {
    await refuseRecursion(tx, spec);
    if (spec.version !== undefined) {
      const existing = await tx.getWorkflow(spec.name, spec.version);
      if (existing && sameSpec(existing, spec, code)) return existing;
      if (existing) throw new WorkflowVersionConflictError(spec.name, spec.version);
      const record = { name: spec.name, version: spec.version, spec, origin, code, createdAt: now };
      await tx.insertWorkflow(record);
      return record;
    }
    const latest = await tx.getWorkflow(spec.name);
    if (latest && sameSpec(latest, spec, code)) return latest;
    const version = (latest?.version ?? 0) + 1;
    // The stored spec carries its version, so executions started from it record it.
    const record = { name: spec.name, version, spec: { ...spec, version }, origin, code, createdAt: now };
    await tx.insertWorkflow(record);
    return record;
  });
}

/** Refuses a definition whose literal sub-workflow references lead back to it (see `subflowCycle`). */
async function refuseRecursion(tx: StoreTx, spec: WorkflowSpec): Promise<void> {
  const cycle = await subflowCycle(
    spec,
    async (name, version) => (await tx.getWorkflow(name, version))?.spec,
  );
  if (cycle) throw new RecursiveWorkflowError(spec.name, cycle);
}

/** The registered workflow `name` (its highest version unless `version` is given). */
export async function getWorkflow(store: Store, name: string, version?: number): Promise<WorkflowRecord> {
  const record = await store.transaction(async (tx) => tx.getWorkflow(name, version));
  if (!record) throw new WorkflowNotFoundError(name, version);
  return record;
}
