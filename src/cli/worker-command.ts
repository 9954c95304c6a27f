import { resolve } from "node:path";
import type { Command } from "commander";
import { compileRunPolicy } from "../actions/run-policy.js";
import type { MetricsEndpoint } from "../api/metrics-endpoint.js";
import type { WorkerMetrics } from "../api/metrics.js";
import type { ExecutionEvent } from "../engine/store.js";
import { createRuntime, ownerName } from "../runtime/runtime.js";
import { loadWorkflowsDir, type WorkflowsDir } from "../runtime/workflow-modules.js";
import { parseDuration } from "../shared/durations.js";
import { InvalidInputError } from "../shared/errors.js";
import { StoreOutage } from "../worker/store-outage.js";
import { stderrLogger, type CliIO } from "./io.js";
import { parseConcurrency } from "./run-command.js";
import { storeUrl, withStoreOption } from "./store-option.js";

/** One line per task that ends or retries, for a worker's log. */
function logEvents(io: CliIO, events: readonly ExecutionEvent[]): void {
  for (const event of events) {
    if (event.kind !== "task" && event.kind !== "undo") continue;
    if (
      !["task:succeeded", "task:failed", "task:retrying", "task:waiting", "lease:expired"].includes(
        event.type,
      )
    )
      continue;
    const task = `${event.kind === "undo" ? "undo " : ""}${event.task}`;
    const error = event.error ? `: ${event.error.message}` : "";
    io.stderr(
      `${event.executionId} ${event.type.slice(event.type.indexOf(":") + 1)} ${task} (attempt ${event.attempt})${error}\n`,
    );
  }
}

/** `--metrics-port`: a TCP port, checked before the store is opened. */
function parseMetricsPort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port > 65_535)
    throw new InvalidInputError(`--metrics-port must be a whole number from 0 to 65535, got "${text}".`);
  return port;
}

/** Starts the metrics endpoint; a port or host it cannot bind is the user's error (exit 2). */
async function listenForMetrics(
  metrics: WorkerMetrics,
  host: string,
  port: number,
  runtime: { close(): Promise<void> },
): Promise<MetricsEndpoint> {
  const { serveMetrics } = await import("../api/metrics-endpoint.js");
  try {
    return await serveMetrics(metrics, host, port);
  } catch (error) {
    await runtime.close();
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new InvalidInputError(`--metrics-port: cannot listen on ${host}:${port} (${code}).`);
  }
}

/** What the worker loaded from --workflows, one line each, so a missing module shows at once. */
function logLoaded(io: CliIO, dir: string, loaded: WorkflowsDir): void {
  for (const { file, exportName, workflow } of loaded.workflows)
    io.stderr(`worker: runs the functions of ${workflow.name} (${file}, export ${exportName})\n`);
  if (loaded.definitions.length > 0)
    io.stderr(
      `worker: ${loaded.definitions.length} YAML/JSON workflow(s) in ${dir} (any worker runs those)\n`,
    );
  for (const { file, reason } of loaded.skipped) io.stderr(`worker: skipped ${file}: ${reason}\n`);
}

/** The public URL, checked once at start: a typo would otherwise give every delegate a dead callback link. */
function parsePublicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:"))
    throw new InvalidInputError(`--public-url must be an http: or https: URL, got "${raw}".`);
  return raw;
}

export function registerWorker(program: Command, io: CliIO): void {
  withStoreOption(
    program
      .command("worker")
      .description("run tasks of every execution in the store until stopped (SIGTERM or SIGINT)")
      .option("--concurrency <n>", "task runs at once (default 8)")
      .option(
        "--workflows <dir>",
        "load the builder workflows of every .js/.mjs module here (this worker runs their functions); relative js modules resolve here too (default: the working directory)",
      )
      .option("--lease <duration>", "how long a claimed task stays this worker's without a heartbeat", "30s")
      .option(
        "--grace <duration>",
        "on SIGTERM, how long running tasks may finish before they are released",
        "30s",
      )
      .option(
        "--allow-actions <list>",
        "actions definitions registered over HTTP may run, comma-separated, * for all (default: $WEFT_ALLOW_ACTIONS, else all but shell and js)",
      )
      .option(
        "--allow-hosts <list>",
        "hosts, addresses and ranges http tasks may reach, * for any (default: $WEFT_ALLOW_HOSTS, else all but link-local and metadata)",
      )
      .option(
        "--metrics-port <port>",
        "serve this worker's Prometheus metrics on GET /metrics at this port (0: any free port)",
      )
      .option("--metrics-host <host>", "interface the metrics endpoint binds", "127.0.0.1")
      .option(
        "--public-url <url>",
        "where third parties reach the HTTP API, the base of delegate callback links (default: $WEFT_PUBLIC_URL)",
      )
      .option("--quiet", "do not log task ends"),
  ).action(
    async (options: {
      store?: string;
      concurrency?: string;
      workflows?: string;
      lease: string;
      grace: string;
      quiet?: boolean;
      allowActions?: string;
      allowHosts?: string;
      metricsPort?: string;
      metricsHost: string;
      publicUrl?: string;
    }) => {
      const publicUrl = parsePublicUrl(options.publicUrl ?? io.env.WEFT_PUBLIC_URL);
      const allowActions = [options.allowActions ?? io.env.WEFT_ALLOW_ACTIONS ?? ""];
      const allowHosts = [options.allowHosts ?? io.env.WEFT_ALLOW_HOSTS ?? ""];
      compileRunPolicy({ allowActions, allowHosts }); // bad entries are refused before anything starts
      const graceMs = parseDuration(options.grace);
      if (graceMs === undefined)
        throw new InvalidInputError(`--grace must be a duration like 30s, got "${options.grace}".`);
      const leaseMs = parseDuration(options.lease);
      if (leaseMs === undefined || leaseMs < 100)
        throw new InvalidInputError(`--lease must be a duration of at least 100ms, got "${options.lease}".`);
      const concurrency = parseConcurrency(options.concurrency) ?? 8;
      const workflowsDir = options.workflows === undefined ? undefined : resolve(io.cwd, options.workflows);
      // Loaded before the store opens: a module that does not import is refused at once.
      const loaded = workflowsDir === undefined ? undefined : await loadWorkflowsDir(workflowsDir);
      const url = storeUrl(options, io);
      const metricsPort = parseMetricsPort(options.metricsPort);
      // Loaded only when asked for: prom-client is not needed by a worker without metrics.
      const metrics =
        metricsPort === undefined ? undefined : new (await import("../api/metrics.js")).WorkerMetrics();
      // A worker started before its database (or during a restart) waits for it.
      const opening = new StoreOutage(stderrLogger(io), "weft worker");
      const runtime = await opening.retry(() =>
        createRuntime({
          store: url,
          concurrency,
          leaseMs,
          logger: stderrLogger(io),
          allowActions,
          allowHosts,
          publicUrl,
          onEvents: (events) => {
            metrics?.observe(events);
            if (!options.quiet) logEvents(io, events);
          },
        }),
      );
      // Before the worker claims anything: a port in use stops the process with nothing taken.
      const endpoint =
        metrics && (await listenForMetrics(metrics, options.metricsHost, metricsPort!, runtime));
      const name = ownerName("worker");
      const worker = runtime.startWorker({
        concurrency,
        workflowsDir,
        name,
        workflows: loaded?.workflows.map((entry) => entry.workflow),
      });
      if (loaded && workflowsDir) logLoaded(io, workflowsDir, loaded);
      io.stderr(`worker ${name} started: ${concurrency} slot(s) on ${url.replace(/\/\/[^@/]*@/, "//")}\n`);
      if (metrics && endpoint) {
        metrics.watch(worker);
        io.stderr(`worker ${name} metrics on ${endpoint.url}\n`);
      }
      await new Promise<void>((done) => {
        const stop = (signal: string) => {
          process.off("SIGTERM", onTerm);
          process.off("SIGINT", onInt);
          io.stderr(`worker ${name}: ${signal}, finishing running tasks (grace ${options.grace})\n`);
          void worker
            .stop(graceMs)
            .then(() => endpoint?.close())
            .then(() => runtime.close())
            .then(() => {
              io.stderr(`worker ${name} stopped\n`);
              done();
            });
        };
        const onTerm = () => stop("SIGTERM");
        const onInt = () => stop("SIGINT");
        process.on("SIGTERM", onTerm);
        process.on("SIGINT", onInt);
      });
    },
  );
}
