/**
 * An execution's history as `weft events` and `weft watch` show it: the user's tasks only (the
 * engine's internal sync points such as `$end` are bookkeeping), a success without the error of
 * an earlier attempt, and times in ISO 8601 like every other `--json` output.
 */
import { isUserEvent, type ExecutionEvent } from "../engine/events.js";

/** One event of `weft events --json`: the stored event with `at` in ISO 8601. */
export interface HistoryEntry extends Omit<ExecutionEvent, "at"> {
  at: string;
}

/** The events of `events` a user reads, as they read them. */
export function presentEvents(events: readonly ExecutionEvent[]): ExecutionEvent[] {
  const shown: ExecutionEvent[] = [];
  for (const event of events) {
    if (!isUserEvent(event)) continue;
    // Histories written before the engine stopped doing so carry the last failed attempt's error here.
    if (event.type === "task:succeeded" && event.error) {
      const { error: _earlier, ...rest } = event;
      shown.push(rest);
    } else shown.push(event);
  }
  return shown;
}

/** The JSON form of a presented event. */
export function historyEntry(event: ExecutionEvent): HistoryEntry {
  return { ...event, at: new Date(event.at).toISOString() };
}

/** What a traversal's events say of it: its number, what started it, and the version it runs. */
function traversalNote(event: ExecutionEvent): string | undefined {
  const data = event.data as
    { number?: number; cause?: string; version?: number | null; undos?: number } | undefined;
  if (event.type === "traversal:started" && data?.number !== undefined)
    return `traversal ${data.number} (${data.cause ?? "update"}${data.version != null ? `, v${data.version}` : ""})`;
  if (event.type === "traversal:cleanup" && data?.undos !== undefined)
    return `${data.undos} version(s) it no longer uses to undo`;
  if (event.type === "task:reused") return "reused a live version: its definition and inputs did not change";
  return undefined;
}

/** One line for people: time, type, task and attempt, worker, error. */
export function formatEvent(event: ExecutionEvent): string {
  const what = [
    event.task && `${event.kind === "undo" ? "undo " : ""}${event.task}`,
    event.attempt && event.type !== "task:reused" && `attempt ${event.attempt}`,
    event.worker && `by ${event.worker}`,
    traversalNote(event),
  ]
    .filter(Boolean)
    .join(", ");
  const error = event.error ? `${what ? ": " : ""}${event.error.message}` : "";
  return `${new Date(event.at).toISOString()}  ${event.type.padEnd(22)} ${what}${error}\n`.replace(
    / +\n$/,
    "\n",
  );
}
