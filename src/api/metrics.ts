/**
 * Prometheus metrics, each set in a registry of its own (never prom-client's global one, so two
 * servers in one process, or a library user's own metrics, do not collide).
 *
 * Two kinds of figures. What the cluster is doing now (executions by status, the ready-queue
 * depth) is read from the store at each scrape, so a server beside separate `weft worker`
 * processes reports their work too; both reads are single counts over indexes. What happened
 * in one process (task attempts and their durations, leases reaped, store outages) is counted
 * from the events its engine committed: scrape every worker (`weft worker --metrics-port`) and
 * sum across instances.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { EventType, type ExecutionEvent, type Store } from "../engine/store.js";
import { isStoreUnavailable } from "../shared/errors.js";

/** The execution status each execution event enters. */
const ENTERED: Partial<Record<string, string>> = {
  [EventType.executionCreated]: "running",
  [EventType.executionRetried]: "running",
  [EventType.executionCompensating]: "compensating",
  [EventType.executionSucceeded]: "succeeded",
  [EventType.executionFailed]: "failed",
  [EventType.executionCancelled]: "cancelled",
};

/** Attempt ends: the outcome label of the task counters and duration histogram. */
const ATTEMPT_ENDS: Partial<Record<string, string>> = {
  [EventType.taskSucceeded]: "succeeded",
  [EventType.taskFailed]: "failed",
  [EventType.taskRetrying]: "failed",
  [EventType.taskCancelled]: "cancelled",
};

/** Attempts started but not yet seen ending: bounded, so lost events cannot grow memory forever. */
const MAX_OPEN_ATTEMPTS = 100_000;

/**
 * One process's counters, from its engine's committed events. `observe` takes every batch
 * (wire it to an EventHub, or to the runtime's `onEvents`).
 *
 * @example
 * const metrics = new ProcessMetrics();
 * const runtime = await createRuntime({ store, onEvents: (events) => metrics.observe(events) });
 */
export class ProcessMetrics {
  readonly registry = new Registry();
  private readonly executions = new Counter({
    name: "weft_executions_total",
    help: "Executions that entered each status by this process's hand (the store's figures: weft_executions).",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  private readonly ended = new Counter({
    name: "weft_task_attempts_total",
    help: "Task attempts that ended in this process, by outcome (retried attempts count as failed).",
    labelNames: ["kind", "outcome"] as const,
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
    for (const outcome of new Set(Object.values(ATTEMPT_ENDS)))
      this.ended.inc({ kind: "task", outcome: outcome! }, 0);
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
      if (!outcome) continue;
      const kind = event.kind ?? "task";
      this.ended.inc({ kind, outcome });
      const started = this.open.get(key);
      this.open.delete(key);
      if (outcome !== "cancelled" && started !== undefined) {
        this.durations.observe({ kind, outcome }, Math.max(0, event.at - started) / 1000);
      }
    }
  }

  /** The text a Prometheus scrape reads. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The exposition format's content type, for the scrape's response. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

const READY_RUNS = "weft_ready_runs";

/** What the server's metrics read from the store at each scrape. */
export type CountingStore = Pick<Store, "countExecutions" | "countReady" | "clock">;

/**
 * The server's metrics: this process's counters, and the cluster's figures read from the store
 * when scraped. While the store is unavailable a scrape still answers, with `weft_store_up 0`
 * and without the store's figures (never stale ones).
 *
 * @example
 * const metrics = new ApiMetrics(runtime.store);
 * hub.subscribe((events) => metrics.observe(events));
 * const text = await metrics.render();
 */
export class ApiMetrics extends ProcessMetrics {
  private readonly byStatus = new Gauge({
    name: "weft_executions",
    help: "Executions in each status now, in the store (every process's work).",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  private readonly ready = new Gauge({
    name: READY_RUNS,
    help: "Ready-queue depth: task runs claimable now, in the store.",
    registers: [this.registry],
  });
  private readonly up = new Gauge({
    name: "weft_store_up",
    help: "1 when the last scrape read the store, 0 when the store was unavailable.",
    registers: [this.registry],
  });

  constructor(private readonly store?: CountingStore) {
    super();
  }

  override async render(): Promise<string> {
    if (this.store) await this.readStore(this.store);
    return super.render();
  }

  private async readStore(store: CountingStore): Promise<void> {
    try {
      const [counts, ready] = await Promise.all([
        store.countExecutions(),
        store.countReady(store.clock.now()),
      ]);
      for (const [status, count] of Object.entries(counts)) this.byStatus.set({ status }, count);
      this.ready.set(ready);
      if (!this.registry.getSingleMetric(READY_RUNS)) this.registry.registerMetric(this.ready);
      this.up.set(1);
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      this.byStatus.reset();
      // A gauge without labels always shows a value (0 after a reset): out of the registry instead.
      this.registry.removeSingleMetric(READY_RUNS);
      this.up.set(0);
    }
  }
}

/** What a worker's metrics read from it at each scrape. */
export interface WorkerHealth {
  readonly outage: { readonly down: boolean; readonly outages: number };
}

/**
 * A `weft worker` process's metrics: its counters, and its view of the store's health.
 *
 * @example
 * const metrics = new WorkerMetrics();
 * const runtime = await createRuntime({ store, onEvents: (events) => metrics.observe(events) });
 * metrics.watch(runtime.startWorker());
 */
export class WorkerMetrics extends ProcessMetrics {
  private worker: WorkerHealth | undefined;
  private seenOutages = 0;
  private readonly outages = new Counter({
    name: "weft_store_outages_total",
    help: "Store outages this worker waited out (or is waiting out).",
    registers: [this.registry],
  });
  private readonly down = new Gauge({
    name: "weft_store_down",
    help: "1 while this worker cannot reach the store.",
    registers: [this.registry],
  });

  constructor() {
    super();
    this.outages.inc(0);
    this.down.set(0);
  }

  /** Reads the store's health from `worker` at each scrape. */
  watch(worker: WorkerHealth): void {
    this.worker = worker;
  }

  override render(): Promise<string> {
    if (this.worker) {
      const { down, outages } = this.worker.outage;
      this.outages.inc(outages - this.seenOutages);
      this.seenOutages = outages;
      this.down.set(down ? 1 : 0);
    }
    return super.render();
  }
}
