import type { ExecutionRecord, Store, TaskRunRecord, TraversalRecord } from "../engine/store.js";
import { specTaskOf } from "../engine/for-each.js";
import { RunKind } from "../engine/store.js";
import { ExecutionNotFoundError } from "../shared/errors.js";

/** Where a sub-workflow's execution came from: its parent's execution, task and attempt. */
export interface ParentLink {
  id: string;
  task: string;
  attempt: number;
}

/** A sub-workflow an execution's task started (one per attempt). */
export interface ChildLink {
  id: string;
  workflow: string;
  status: string;
  task: string;
  attempt: number;
}

/** The sub-workflow links of an execution, as its report shows them. */
export interface SubflowLinks {
  parent?: ParentLink;
  children: ChildLink[];
}

/** The object `weft run --json` and `weft status --json` print (and the HTTP API answers). */
export interface ExecutionReport {
  id: string;
  workflow: string;
  status: string;
  output: unknown;
  error?: { type: string; message: string; task?: string };
  createdAt: string;
  finishedAt?: string;
  /**
   * Set while the execution can only move on a worker with its builder functions and none is
   * running any of its runs: "a worker that has etl v3".
   */
  waitingFor?: string;
  /** Set once the execution was updated: its current traversal (see `weft update`), and how many it had. */
  traversal?: { id: string; number: number; cause: string; of: number };
  /** The undos that clean up after the current traversal: versions of earlier ones it no longer uses. */
  cleanup?: { task: string; status: string; attempts: number; error?: unknown }[];
  /** Set on a sub-workflow's execution: the run of another execution that started it. */
  parent?: ParentLink;
  /** The sub-workflows its tasks started, by task and attempt (absent: none). */
  children?: ChildLink[];
  tasks: Record<
    string,
    {
      status: string;
      attempts: number;
      output?: unknown;
      error?: unknown;
      undo?: { status: string; attempts: number; error?: unknown };
      /** A waiting delegate's deadline (ISO 8601): it fails when no callback came by then. */
      deadline?: string;
      /** Its body did not run in this traversal: a live version with the same definition and inputs stood for it. */
      reused?: true;
      /** A forEach task's instances, counted by status (one line for 10,000 of them). */
      instances?: Record<string, number>;
    }
  >;
}

/** The report of execution `id` as the store holds it now (its traversals and sub-workflow links included). */
export async function reportOf(store: Store, id: string | ExecutionRecord): Promise<ExecutionReport> {
  const execution = typeof id === "string" ? await store.getExecution(id) : id;
  if (!execution) throw new ExecutionNotFoundError(id as string);
  const traversals = execution.base > 0 ? await store.listTraversals(execution.id) : [];
  const runs = await store.listRuns(execution.id);
  return executionReport(execution, runs, { traversals, links: await subflowLinks(store, execution, runs) });
}

/**
 * Who an execution waits for, when it waits for code: it has ready function runs, and nothing of
 * it is running. Without a registry of live workers this cannot tell a missing worker from a
 * busy one, so it says what the execution needs, not that no such worker exists.
 */
function waitingFor(execution: ExecutionRecord, runs: readonly TaskRunRecord[]): string | undefined {
  if (execution.status !== "running" || execution.code === null) return undefined;
  if (runs.some((run) => run.status === "running")) return undefined;
  if (!runs.some((run) => run.code !== null && (run.status === "ready" || run.status === "retrying")))
    return undefined;
  const version = execution.version === null ? `code ${execution.code}` : `v${execution.version}`;
  return `a worker that has ${execution.workflow} ${version}`;
}

/**
 * Reads what links an execution to other executions: the task of its parent that started it, and
 * the sub-workflows its own tasks started (oldest task and attempt first).
 */
export async function subflowLinks(
  store: Store,
  execution: ExecutionRecord,
  runs: readonly TaskRunRecord[],
): Promise<SubflowLinks> {
  const links: SubflowLinks = { children: [] };
  if (execution.parent) {
    const { executionId, seq, attempt } = execution.parent;
    const [run] = await store.getRuns(executionId, [seq]);
    links.parent = { id: executionId, task: run?.task ?? `#${seq}`, attempt };
  }
  const children = await store.listExecutions({ parentId: execution.id });
  const taskOf = new Map(runs.map((run) => [run.seq, run.task]));
  links.children = children
    .filter((child) => child.parent !== null)
    .sort((a, b) => a.parent!.seq - b.parent!.seq || a.parent!.attempt - b.parent!.attempt)
    .map((child) => ({
      id: child.id,
      workflow: child.workflow,
      status: child.status,
      task: taskOf.get(child.parent!.seq) ?? `#${child.parent!.seq}`,
      attempt: child.parent!.attempt,
    }));
  return links;
}

/**
 * The report of an execution and its runs (see ExecutionReport), with its traversals (an updated
 * execution's) and its sub-workflow links when read.
 */
export function executionReport(
  execution: ExecutionRecord,
  allRuns: readonly TaskRunRecord[],
  extra: { traversals?: readonly TraversalRecord[]; links?: SubflowLinks } = {},
): ExecutionReport {
  const { traversals = [], links } = extra;
  // An updated execution keeps its earlier traversals' runs: the report is of the current one.
  const runs = allRuns.filter((run) => run.traversal === execution.traversal);
  const own = new Set(runs.map((run) => run.seq));
  const tasks: ExecutionReport["tasks"] = {};
  const cleanup: NonNullable<ExecutionReport["cleanup"]> = [];
  for (const run of runs) {
    if (run.kind !== RunKind.task) continue;
    tasks[run.task] = {
      status: run.status,
      attempts: run.attempt,
      ...(run.reusedFrom !== null ? { reused: true as const } : {}),
      ...(run.status === "succeeded" ? { output: run.output } : {}),
      ...(run.error && run.status !== "succeeded" ? { error: run.error } : {}),
      ...(run.status === "waiting" && run.deadline !== null
        ? { deadline: new Date(run.deadline).toISOString() }
        : {}),
    };
  }
  // The latest run of each instance (a retried forEach task expands again).
  const instances = new Map<string, TaskRunRecord>();
  for (const run of runs) {
    if (run.kind !== RunKind.instance) continue;
    const seen = instances.get(run.task);
    if (!seen || seen.seq < run.seq) instances.set(run.task, run);
  }
  for (const run of instances.values()) {
    const entry = tasks[specTaskOf(run.task)];
    if (!entry) continue;
    entry.instances ??= {};
    entry.instances[run.status] = (entry.instances[run.status] ?? 0) + 1;
  }
  for (const run of runs) {
    if (run.kind === RunKind.undo && run.target !== null && !own.has(run.target)) {
      cleanup.push({
        task: run.task,
        status: run.status,
        attempts: run.attempt,
        ...(run.error ? { error: run.error } : {}),
      });
      continue;
    }
    const entry = tasks[run.task];
    if (run.kind !== RunKind.undo || !entry || run.status === "skipped") continue;
    entry.undo = { status: run.status, attempts: run.attempt, ...(run.error ? { error: run.error } : {}) };
  }
  const waiting = waitingFor(execution, runs);
  const current = traversals.find((row) => row.id === execution.traversal);
  return {
    id: execution.id,
    workflow: execution.workflow,
    status: execution.status,
    output: execution.output ?? null,
    ...(execution.error ? { error: execution.error } : {}),
    createdAt: new Date(execution.createdAt).toISOString(),
    ...(execution.finishedAt ? { finishedAt: new Date(execution.finishedAt).toISOString() } : {}),
    ...(waiting === undefined ? {} : { waitingFor: waiting }),
    ...(current
      ? { traversal: { id: current.id, number: current.number, cause: current.cause, of: traversals.length } }
      : {}),
    ...(cleanup.length > 0 ? { cleanup } : {}),
    ...(links?.parent ? { parent: links.parent } : {}),
    ...(links && links.children.length > 0 ? { children: links.children } : {}),
    tasks,
  };
}

const MARK: Record<string, string> = {
  succeeded: "ok  ",
  failed: "FAIL",
  skipped: "skip",
  cancelled: "cncl",
  waiting: "wait",
  running: "run ",
  ready: "rdy ",
  retrying: "rtry",
  blocked: "blkd",
  expanded: "each",
};

/** A few lines for people: one per task, then the outcome. */
export function formatReport(report: ExecutionReport): string {
  const lines = [`execution ${report.id} (${report.workflow}): ${report.status}`];
  if (report.traversal) {
    const { number, cause, of } = report.traversal;
    lines.push(`traversal ${number} of ${of} (${cause}); weft events ${report.id} shows them all`);
  }
  if (report.parent) {
    const { id, task, attempt } = report.parent;
    lines.push(`parent: ${id} (task "${task}", attempt ${attempt})`);
  }
  for (const [name, task] of Object.entries(report.tasks)) {
    const attempts = task.reused ? " (reused)" : task.attempts > 1 ? ` (${task.attempts} attempts)` : "";
    const error =
      task.error && typeof task.error === "object" && "message" in task.error
        ? `: ${String(task.error.message)}`
        : "";
    lines.push(
      `  ${MARK[task.status] ?? task.status} ${name}${attempts}${instancesOf(task.instances)}${error}`,
    );
    if (task.undo) lines.push(`       undo ${name}: ${task.undo.status}`);
    if (task.status === "waiting") lines.push(...waitingHint(report.id, name, task.deadline));
  }
  for (const undo of report.cleanup ?? [])
    lines.push(`  cleanup: undo ${undo.task} of an earlier traversal: ${undo.status}`);
  if (report.children && report.children.length > 0) {
    lines.push("children:");
    for (const child of report.children)
      lines.push(
        `  ${child.id} (${child.workflow}): ${child.status}, task "${child.task}" attempt ${child.attempt}`,
      );
  }
  if (report.error) lines.push(`error: ${report.error.message}`);
  if (report.waitingFor) lines.push(`waiting for ${report.waitingFor}`);
  return `${lines.join("\n")}\n`;
}

/** ` [instances: 3 succeeded, 2 running]`, or "" for a task without forEach instances. */
function instancesOf(counts: Record<string, number> | undefined): string {
  if (!counts) return "";
  const parts = Object.entries(counts).map(([status, count]) => `${count.toLocaleString("en-US")} ${status}`);
  return ` [instances: ${parts.join(", ")}]`;
}

/** What a waiting delegate waits for, until when, and the command that completes it. */
function waitingHint(id: string, task: string, deadline: string | undefined): string[] {
  return [
    `       waiting for a callback${deadline ? ` until ${deadline} (then it fails)` : ""}; complete it with:`,
    // By execution and task needs the store; over --server only the token's holder can complete it.
    `       weft complete --execution ${id} --task ${task} --output JSON   (on its store; or weft complete TOKEN)`,
  ];
}
