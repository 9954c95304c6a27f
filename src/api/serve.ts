/**
 * One process serving a small deployment (`weft server`): the HTTP API, plus `workers` worker
 * slots in-process. The API and the worker use two runtimes over one store because the worker's
 * runtime needs the public URL (the base of delegate callback URLs), which with port 0 is only
 * known once the server listens.
 */
import type { Store } from "../engine/store.js";
import { openStore } from "../runtime/open-store.js";
import { createRuntime, type Runtime } from "../runtime/runtime.js";
import type { Worker } from "../worker/worker.js";
import { EventHub } from "./event-hub.js";
import { startServer, type ListeningServer, type ServerOptions } from "./server.js";

export interface ServeOptions extends Omit<ServerOptions, "runtime" | "events" | "wake"> {
  /** A store, or its URL (`memory:`, `sqlite:PATH`, ...). */
  store: Store | string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Worker slots run in this process. Default 0 (the API alone). */
  workers?: number;
  /** Where relative `js` modules and `shell` cwd resolve, and relative SQLite paths. Default: the working directory. */
  cwd?: string;
  /** Default 30 s. */
  leaseMs?: number;
  /** On close, how long running tasks may finish before they are released to other workers. Default 10 s. */
  graceMs?: number;
  /** Hosts the in-process workers' `http` tasks may reach (see egress-policy.ts). Default: all but link-local and metadata. */
  allowHosts?: readonly string[];
}

export interface RunningServer extends ListeningServer {
  /** Delegate callbacks point here: `publicUrl` or `url`. */
  publicUrl: string;
  /** The API's runtime (its engine and store). */
  runtime: Runtime;
  /** Stops the worker (with the grace period), then the server, then the store it opened. */
  close(): Promise<void>;
}

/**
 * Starts the API (and workers) on `store`.
 *
 * @example
 * const server = await serve({ store: "sqlite:.weft/weft.db", port: 8080, workers: 4 });
 * process.on("SIGTERM", () => void server.close());
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const cwd = options.cwd ?? process.cwd();
  const ownsStore = typeof options.store === "string";
  const store = typeof options.store === "string" ? await openStore(options.store, cwd) : options.store;
  const events = new EventHub();
  let worker: Worker | undefined;
  let workerRuntime: Runtime | undefined;
  const runtime = await createRuntime({
    store,
    onEvents: events.publish,
    leaseMs: options.leaseMs,
    logger: options.logger,
  });
  let server: ListeningServer;
  try {
    server = await startServer({ ...options, runtime, events, wake: () => worker?.wake() });
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
  const publicUrl = options.publicUrl ?? server.url;
  if ((options.workers ?? 0) > 0) {
    workerRuntime = await createRuntime({
      store,
      publicUrl,
      onEvents: events.publish,
      concurrency: options.workers,
      leaseMs: options.leaseMs,
      logger: options.logger,
      baseDir: cwd,
      // The in-process workers enforce what this server does: `allowActions` is its own policy.
      allowActions: options.allowActions ?? [],
      allowHosts: options.allowHosts ?? [],
    });
    worker = workerRuntime.startWorker({ concurrency: options.workers, workflowsDir: cwd });
  } else {
    // Every process that holds the store open does its share of the watchdog, so a workflow's
    // timeout and a dead worker's leases are handled even where this server is all that runs.
    worker = runtime.startReaper();
  }
  let closing: Promise<void> | undefined;
  return {
    ...server,
    publicUrl,
    runtime,
    close: () =>
      (closing ??= (async () => {
        await worker?.stop(options.graceMs ?? 10_000);
        await server.close();
        await workerRuntime?.close();
        await runtime.close();
        if (ownsStore) await store.close();
      })()),
  };
}
