/**
 * Durations in the DSL: `250ms`, `30s`, `5m`, `2h`, `1d`, or a number of milliseconds.
 * Compiled to milliseconds once, at the edge.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * The longest duration Weft accepts: 365 days. Durations become timestamps (`now + timeout`)
 * stored in bigint columns and timers; `999999999999d` overflowed PostgreSQL's bigint and crashed
 * every worker that read it. A year is far past any retry delay or deadline a workflow needs.
 */
export const MAX_DURATION_MS = 365 * 86_400_000;

/** The accepted forms, for error messages. */
export const DURATION_FORMS =
  "a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d";

/**
 * Parses a duration to milliseconds, or returns undefined when it is not one or is longer than
 * `MAX_DURATION_MS`.
 *
 * @example
 * parseDuration("1.5s") // 1500
 * parseDuration(200) // 200
 * parseDuration("400d") // undefined: longer than 365 days
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) && value >= 0 && value <= MAX_DURATION_MS ? value : undefined;
  }
  if (typeof value !== "string") return undefined;
  const match = PATTERN.exec(value.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * (UNITS[match[2] as string] as number));
  return ms <= MAX_DURATION_MS ? ms : undefined;
}

/** Formats milliseconds for people: 1500 -> "1.5s", 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  if (minutes < 60) return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`;
}
