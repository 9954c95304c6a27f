/**
 * Which SQLite errors are outages: the write lock held by another process past the busy
 * timeout, a full disk, an I/O error, a file that cannot be opened or written for now. They
 * become StoreUnavailableError (long-lived processes wait them out, the API answers 503);
 * SQLite rolled the transaction back, so nothing half-written stays.
 */
import Database from "better-sqlite3";
import { StoreUnavailableError } from "../../shared/errors.js";

/** Why the file is unavailable, in a few words, or null when `error` is not an outage. */
export function outageReason(error: unknown): string | null {
  if (!(error instanceof Database.SqliteError)) return null;
  const code = error.code;
  if (code === "SQLITE_FULL") return `the store's disk is full: ${error.message}`;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
    return `the file is locked by another process (${code})`;
  if (code.startsWith("SQLITE_IOERR") || code === "SQLITE_CANTOPEN" || code === "SQLITE_PROTOCOL")
    return `the file cannot be read or written: ${error.message} (${code})`;
  if (code.startsWith("SQLITE_READONLY")) return `the file cannot be written: ${error.message} (${code})`;
  return null;
}

/** `error` as a StoreUnavailableError when it is an outage; else `error` itself. */
export function asOutage(error: unknown, store: string): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const reason = outageReason(error);
  return reason === null ? error : new StoreUnavailableError(store, reason, error);
}
