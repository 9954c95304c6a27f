/**
 * Where the commands that read an execution (`status`, `events`, `watch`) read it from: the store
 * (`--store`, $WEFT_STORE, the embedded file) or a server (`--server`, $WEFT_SERVER). The same
 * answers either way, so each command is written once and prints the same whichever it used.
 */
import { Engine } from "../engine/engine.js";
import type { ExecutionStatus } from "../engine/states.js";
import type { ExecutionEvent } from "../engine/store.js";
import { openStore } from "../runtime/open-store.js";
import { executionReport, subflowLinks, type ExecutionReport } from "../runtime/report.js";
import { apiPath, callApi, serverTarget } from "./client.js";
import { followServer, followStore, type OnEvents } from "./follow.js";
import type { CliIO } from "./io.js";
import { storeUrl } from "./store-option.js";

/** Reads executions from the store or a server. */
export interface ExecutionSource {
  /** What `weft status --json` prints. */
  report(id: string): Promise<ExecutionReport>;
  /** The stored history, oldest first, as stored. */
  events(id: string): Promise<ExecutionEvent[]>;
  /** Calls `onEvents` with the history and then every new event until the execution ended. */
  follow(id: string, onEvents: OnEvents): Promise<ExecutionStatus>;
  close(): Promise<void>;
}

/** Opens the source the options and environment name; the caller closes it. */
export async function openSource(
  options: { store?: string; server?: string; token?: string },
  io: CliIO,
): Promise<ExecutionSource> {
  const server = serverTarget(options, io);
  if (server) {
    return {
      report: (id) => callApi<ExecutionReport>(server, "GET", apiPath("executions", id)),
      events: async (id) =>
        (await callApi<{ events: ExecutionEvent[] }>(server, "GET", apiPath("executions", id, "events")))
          .events,
      follow: (id, onEvents) => followServer(server, id, onEvents),
      close: async () => {},
    };
  }
  const store = await openStore(storeUrl(options, io), io.cwd);
  const engine = new Engine(store);
  return {
    report: async (id) => {
      const execution = await engine.getExecution(id);
      const runs = await store.listRuns(id);
      return executionReport(execution, runs, await subflowLinks(store, execution, runs));
    },
    events: async (id) => {
      // Asked first so that an unknown id says so rather than printing an empty history.
      await engine.getExecution(id);
      return store.listEvents(id);
    },
    follow: async (id, onEvents) => {
      await engine.getExecution(id);
      return followStore(store, id, onEvents);
    },
    close: () => store.close(),
  };
}

/** Opens a source, runs `fn` with it, closes it. */
export async function withSource<T>(
  options: { store?: string; server?: string; token?: string },
  io: CliIO,
  fn: (source: ExecutionSource) => Promise<T>,
): Promise<T> {
  const source = await openSource(options, io);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}
