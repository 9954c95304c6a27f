/**
 * Following an execution's events as they are appended, until it ends: from the store (read
 * after the last event seen, woken by the store's notifications where it has them, else polled),
 * or from a server's Server-Sent Events stream (`GET /v1/executions/{id}/stream`), which does the
 * same on the server's side. Both answer the execution's final status.
 */
import { isTerminalExecution, type ExecutionStatus } from "../engine/states.js";
import type { ExecutionEvent, Store } from "../engine/store.js";
import { ExecutionNotFoundError } from "../shared/errors.js";
import { answerError, apiPath, errorBody, request, requestHeaders, type ServerTarget } from "./client.js";
import { CliExit, ExitCode } from "./io.js";

/** How often the store is read when it cannot say that something changed (SQLite, memory). */
const POLL_MS = 200;

/** How long to wait before reconnecting to a stream the server closed before the end. */
const RECONNECT_MS = 1000;

/** Receives each batch of new events, oldest first. */
export type OnEvents = (events: readonly ExecutionEvent[]) => void;

/** Follows `id` in `store` from the event after `after` until the execution ended. */
export async function followStore(
  store: Store,
  id: string,
  onEvents: OnEvents,
  after = 0,
): Promise<ExecutionStatus> {
  let last = after;
  let wake: (() => void) | null = null;
  const unsubscribe = store.capabilities.notifications ? store.subscribe(() => wake?.()) : () => {};
  const emit = async () => {
    const events = await store.listEvents(id, last);
    for (const event of events) if (event.id !== undefined) last = Math.max(last, event.id);
    if (events.length > 0) onEvents(events);
  };
  try {
    for (;;) {
      await emit();
      const execution = await store.getExecution(id);
      if (!execution) throw new ExecutionNotFoundError(id);
      if (isTerminalExecution(execution.status)) {
        // Events committed with the end, after the read above.
        await emit();
        return execution.status;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    unsubscribe();
  }
}

/** Follows `id` on a server's event stream from the event after `after` until the execution ended. */
export async function followServer(
  target: ServerTarget,
  id: string,
  onEvents: OnEvents,
  after = 0,
): Promise<ExecutionStatus> {
  let last = after;
  for (;;) {
    const response = await request(target, `${apiPath("executions", id, "stream")}?after=${last}`, {
      method: "GET",
      headers: requestHeaders(target, "text/event-stream"),
    });
    if (!response.ok || !response.body) throw answerError(response, await errorBody(response));
    const end = await readStream(response.body, (event) => {
      if (event.id !== undefined) last = Math.max(last, event.id);
      onEvents([event]);
    });
    if (end !== undefined) return end as ExecutionStatus;
    // The server went away mid-stream (a restart, a slow reader dropped): carry on where it stopped.
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

/**
 * Reads Server-Sent Events until the stream closes: each `data` message is an event; answers the
 * status of the `end` message, or undefined when the stream closed without one. Only the fields
 * the Weft server sends are read (`event`, `data`, `id` is in the data too; comments skipped).
 */
async function readStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: ExecutionEvent) => void,
): Promise<string | undefined> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary: number;
    while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const message = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, "");
      let name = "message";
      const data: string[] = [];
      for (const line of message.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (data.length === 0) continue;
      const payload: unknown = JSON.parse(data.join("\n"));
      if (name === "end") return (payload as { status: string }).status;
      if (name === "error")
        throw new CliExit(ExitCode.failed, "weft: the server's event stream failed (see its log).");
      onEvent(payload as ExecutionEvent);
    }
  }
  return undefined;
}
