import type { SyncRule } from "./store.js";

/** What a resolved sync point becomes. `end` hands an internal sync point back to the engine. */
export type SyncDecision = "ready" | "skipped" | "end";

/**
 * Decides a run whose last predecessor just ended, from the outcome counters its sync point
 * gathered. Pure: stores call nothing of this; the engine calls it inside the transaction
 * that brought `pending` to zero, so exactly one transaction decides each run.
 *
 * @example
 * decideSyncPoint("all_success", { failed: 0, skipped: 1 }) // "skipped": skips propagate
 */
export function decideSyncPoint(rule: SyncRule, counts: { failed: number; skipped: number }): SyncDecision {
  switch (rule) {
    case "all_success":
      return counts.failed > 0 || counts.skipped > 0 ? "skipped" : "ready";
    case "all_done":
      return "ready";
    case "any_failed":
      return counts.failed > 0 ? "ready" : "skipped";
    case "undo_skip":
      return "skipped";
    case "end":
      return "end";
  }
}
