/**
 * Which PostgreSQL errors are outages: the server restarted or is starting, the connection was
 * terminated or never made, the server is out of connections or disk. These become
 * StoreUnavailableError, which long-lived processes wait out and the API answers with 503;
 * everything else (a bug, a constraint) stays what it is.
 */
import { StoreUnavailableError } from "../../shared/errors.js";

/** Socket-level error codes of Node (the server is down, restarting or out of reach). */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** SQLSTATEs that mean "not now": classes 08 (connection), 53 (resources), 57P (operator), 58 (system). */
function isOutageState(code: string): boolean {
  return (
    code.startsWith("08") ||
    code.startsWith("53") ||
    code.startsWith("57P") ||
    code.startsWith("58") ||
    // A failover left us on a standby: read-only until the URL reaches the new primary.
    code === "25006"
  );
}

/** node-postgres reports a dropped or refused connection by message only. */
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Client was closed/i;

/** Why the server is unavailable, in a few words, or null when `error` is not an outage. */
export function outageReason(error: unknown): string | null {
  if (typeof error !== "object" || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === "string" && message !== "" ? message : String(code ?? "");
  if (typeof code === "string") {
    if (SOCKET_CODES.has(code)) return `cannot reach the server (${code})`;
    if (code === "53100") return `the store's disk is full: ${text}`;
    if (/^[0-9A-Z]{5}$/.test(code) && isOutageState(code)) return `${text} (SQLSTATE ${code})`;
  }
  // Connecting to several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError.
  if (error instanceof AggregateError) return error.errors.map(outageReason).find((r) => r !== null) ?? null;
  return typeof message === "string" && CONNECTION_MESSAGES.test(message)
    ? `the connection failed: ${message}`
    : null;
}

/** `error` as a StoreUnavailableError when it is an outage; else `error` itself. */
export function asOutage(error: unknown, store: string): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const reason = outageReason(error);
  return reason === null ? error : new StoreUnavailableError(store, reason, error);
}
