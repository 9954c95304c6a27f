/**
 * Hands the engine's events (its `onEvents` hook) to whoever in the server listens: the metrics
 * and the live streams. A runtime takes one `onEvents` function, so the server wires the hub's
 * `publish` there and everything else subscribes here.
 */
import type { ExecutionEvent } from "../engine/store.js";

export type EventListener = (events: readonly ExecutionEvent[]) => void;

/**
 * A synchronous fan-out of committed events. A listener that throws is dropped from that call
 * only: the engine's transaction already committed, nothing may fail it now.
 *
 * @example
 * const hub = new EventHub();
 * const runtime = await createRuntime({ store, onEvents: hub.publish });
 * const stop = hub.subscribe((events) => console.log(events.length));
 */
export class EventHub {
  private readonly listeners = new Set<EventListener>();

  /** Bound, so it can be passed as `onEvents` as it is. */
  readonly publish = (events: readonly ExecutionEvent[]): void => {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch {
        // A metrics or stream bug must not surface in the worker that reported the outcome.
      }
    }
  };

  /** Adds a listener; answers the function that removes it. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
