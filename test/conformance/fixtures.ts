/**
 * What the conformance cases share: workflow specs built by hand (no DSL, no builder: the
 * suite tests stores, not the definition layer), a clock tests move, an engine on the store
 * under test, and a loop that claims and settles runs the way a worker would, without one.
 */
import {
  DEFAULT_RETRY,
  type RetryPolicy,
  type TaskSpec,
  type WorkflowSpec,
} from "../../src/definition/spec.js";
import { Engine, type EngineOptions, type Outcome, type RunRef } from "../../src/engine/engine.js";
import type { ExecutionEvent, RunKind, TaskRunRecord } from "../../src/engine/store.js";
import type { TaskError } from "../../src/shared/errors.js";

/** A task as the cases write it: everything optional but the edges. */
export type TaskShape = Partial<Omit<TaskSpec, "dependsOn" | "after" | "retry">> & {
  after?: string[];
  retry?: Partial<RetryPolicy>;
};

/** Builds a compiled WorkflowSpec: `after` becomes `dependsOn` (sorted, as the compiler does). */
export function workflowSpec(
  name: string,
  tasks: Record<string, TaskShape>,
  extra: Partial<Omit<WorkflowSpec, "name" | "tasks">> = {},
): WorkflowSpec {
  const compiled: Record<string, TaskSpec> = {};
  for (const [taskName, shape] of Object.entries(tasks)) {
    const { after = [], retry, ...rest } = shape;
    compiled[taskName] = {
      action: "noop",
      with: {},
      trigger: "all_success",
      allowFailure: false,
      ...rest,
      after,
      dependsOn: [...after].sort(),
      retry: { ...DEFAULT_RETRY, ...retry },
    };
  }
  return { name, inputs: {}, ...extra, tasks: compiled };
}

/** a -> (b, c) -> d */
export function diamond(extra: Record<string, Partial<TaskShape>> = {}): WorkflowSpec {
  return workflowSpec("diamond", {
    a: { ...extra.a },
    b: { after: ["a"], ...extra.b },
    c: { after: ["a"], ...extra.c },
    d: { after: ["b", "c"], ...extra.d },
  });
}

/** p0 .. p(k-1) -> join */
export function fanIn(k: number): WorkflowSpec {
  const tasks: Record<string, TaskShape> = {};
  const names = Array.from({ length: k }, (_, i) => `p${i}`);
  for (const name of names) tasks[name] = {};
  tasks.join = { after: names };
  return workflowSpec(`fan-in-${k}`, tasks);
}

/** Time that moves only when a test says so. */
export class FakeClock {
  constructor(public t = 1_700_000_000_000) {}

  now(): number {
    return this.t;
  }

  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

/** Lease of the engines the cases build: 1 s of fake time. */
export const LEASE_MS = 1000;

export function engineOn(store: Engine["store"], clock: FakeClock, options: EngineOptions = {}): Engine {
  // random 0: a retry waits exactly half its nominal backoff, so tests know runAfter.
  return new Engine(store, { clock, leaseMs: LEASE_MS, random: () => 0, ...options });
}

export function ref(run: TaskRunRecord): RunRef {
  return { executionId: run.executionId, seq: run.seq, attempt: run.attempt, traversal: run.traversal };
}

/** The run of `task` (of `kind`, default task) among `runs`; throws when absent so tests read plainly. */
export function runOf(runs: readonly TaskRunRecord[], task: string, kind: RunKind = "task"): TaskRunRecord {
  const run = runs.find((candidate) => candidate.task === task && candidate.kind === kind);
  if (!run) throw new Error(`no ${kind} run of "${task}" among ${runs.map((r) => r.task).join(", ")}`);
  return run;
}

export function eventsOf(events: readonly ExecutionEvent[], type: string, task?: string): ExecutionEvent[] {
  return events.filter((event) => event.type === type && (task === undefined || event.task === task));
}

/** What `drive` reports for a claimed run. */
export type Decision =
  | { status: "succeeded"; output: unknown; versionKey?: string; reusedFrom?: number }
  | { status: "failed"; error: TaskError }
  | { status: "skipped" }
  | { status: "expanded"; items: unknown[] };

export const succeed = (run: TaskRunRecord): Decision => ({
  status: "succeeded",
  output: { task: run.task },
});

export function failure(message: string, retryable = false): TaskError {
  return { type: "TestFailure", message, retryable };
}

/**
 * Claims and settles the runs of one execution until none is claimable now, as a worker
 * would (settling a batch and claiming the next in one transaction). Answers the claimed
 * runs in claim order.
 */
export async function drive(
  engine: Engine,
  executionId: string,
  decide: (run: TaskRunRecord) => Decision | Promise<Decision> = succeed,
  limit = 10,
): Promise<TaskRunRecord[]> {
  const claimOptions = { owner: "driver", limit, executionId };
  const order: TaskRunRecord[] = [];
  let claimed = await engine.claim(claimOptions);
  while (claimed.length > 0) {
    order.push(...claimed);
    const outcomes = await Promise.all(
      claimed.map(async (run) => ({ run: ref(run), ...(await decide(run)) }) as Outcome),
    );
    claimed = (await engine.settle(outcomes, claimOptions)).claimed;
  }
  return order;
}
