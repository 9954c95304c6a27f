/**
 * `/metrics`: counters kept from the engine's events as this process sees them, in a registry
 * of its own (never prom-client's global one, so two servers in one process, or a library user's
 * own metrics, do not collide).
 *
 * Why events and not the store: the Store port has no cheap count, and paging `listExecutions`
 * on every scrape would read every execution. The price is that the figures are this process's:
 * with separate `weft worker` processes, scrape each of them too. The ready-queue depth is left
 * out for the same reason (the port offers no cheap count of ready runs).
 */
import { Counter, Histogram, Registry } from "prom-client";
import { EventType, type ExecutionEvent } from "../engine/store.js";

/** The execution status each execution event enters. */
const ENTERED: Partial<Record<string, string>> = {
  [EventType.executionCreated]: "running",
  [EventType.executionRetried]: "running",
  [EventType.executionCompensating]: "compensating",
  [EventType.executionSucceeded]: "succeeded",
  [EventType.executionFailed]: "failed",
  [EventType.executionCancelled]: "cancelled",
};

/** Attempt ends: the outcome label of the task duration histogram. */
const ATTEMPT_ENDS: Partial<Record<string, string>> = {
  [EventType.taskSucceeded]: "succeeded",
  [EventType.taskFailed]: "failed",
  [EventType.taskRetrying]: "failed",
};

/** Attempts started but not yet seen ending: bounded, so lost events cannot grow memory forever. */
const MAX_OPEN_ATTEMPTS = 100_000;

/**
 * The server's metrics. `observe` takes every batch of committed events (wire it to an EventHub).
 *
 * @example
 * const metrics = new ApiMetrics();
 * hub.subscribe((events) => metrics.observe(events));
 * const text = await metrics.registry.metrics();
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly executions = new Counter({
    name: "weft_executions_total",
    help: "Executions that entered each status, as seen by this process.",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  private readonly durations = new Histogram({
    name: "weft_task_duration_seconds",
    help: "Task attempts from claim to end (delegates: to their callback), started and ended in this process.",
    labelNames: ["kind", "outcome"] as const,
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600],
    registers: [this.registry],
  });
  private readonly reaped = new Counter({
    name: "weft_leases_reaped_total",
    help: "Attempts failed because their lease expired (their worker stopped or died).",
    registers: [this.registry],
  });
  private readonly open = new Map<string, number>();

  constructor() {
    // Zero series from the start, so rate() and absent() behave before the first execution.
    for (const status of new Set(Object.values(ENTERED))) this.executions.inc({ status: status! }, 0);
    this.reaped.inc(0);
  }

  /** Counts a batch of committed events. */
  observe(events: readonly ExecutionEvent[]): void {
    for (const event of events) {
      const entered = ENTERED[event.type];
      if (entered) this.executions.inc({ status: entered });
      if (event.type === EventType.leaseExpired) this.reaped.inc();
      if (event.task === undefined || event.attempt === undefined) continue;
      const key = `${event.executionId}\u0000${event.kind}\u0000${event.task}\u0000${event.attempt}`;
      if (event.type === EventType.taskStarted) {
        this.open.set(key, event.at);
        if (this.open.size > MAX_OPEN_ATTEMPTS) this.open.delete(this.open.keys().next().value!);
        continue;
      }
      const outcome = ATTEMPT_ENDS[event.type];
      if (!outcome && event.type !== EventType.taskCancelled) continue;
      const started = this.open.get(key);
      this.open.delete(key);
      if (outcome && started !== undefined) {
        this.durations.observe(
          { kind: event.kind ?? "task", outcome },
          Math.max(0, event.at - started) / 1000,
        );
      }
    }
  }

  /** The text a Prometheus scrape reads. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
