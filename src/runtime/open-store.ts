import { resolve } from "node:path";
import type { Store } from "../engine/store.js";
import { InvalidInputError } from "../shared/errors.js";
import { MemoryStore } from "../stores/memory/memory-store.js";

/** The embedded default: a SQLite file in the working directory, so `weft run` needs no server. */
export const DEFAULT_STORE_URL = "sqlite:.weft/weft.db";

/**
 * Opens the store a URL names: `memory:`, `sqlite:PATH[?synchronous=full]`, or
 * `postgres://user@host:port/db[?schema=&isolation=&pool=&poll=]` (also `postgresql://`).
 * Relative SQLite paths resolve against `cwd`.
 *
 * @example
 * const store = await openStore("sqlite:.weft/weft.db");
 * const shared = await openStore("postgres://weft@db:5432/weft?schema=prod");
 */
export async function openStore(url: string, cwd = process.cwd()): Promise<Store> {
  if (url === "memory:" || url === "memory") return new MemoryStore();
  if (url.startsWith("sqlite:")) {
    // Loaded on demand: the native driver is only needed by those who use it.
    const { SqliteStore, parseSqliteUrl } = await import("../stores/sqlite/sqlite-store.js");
    const { path, synchronous } = parseSqliteUrl(url);
    const resolved = path === ":memory:" ? path : resolve(cwd, path);
    return SqliteStore.open(resolved, { synchronous });
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    // Loaded on demand too: only PostgreSQL users need the driver.
    const { PostgresStore } = await import("../stores/postgres/postgres-store.js");
    return PostgresStore.open(url);
  }
  throw new InvalidInputError(
    `Unknown store URL "${url}": use memory:, sqlite:PATH (for example ${DEFAULT_STORE_URL}) or postgres://USER@HOST:PORT/DB.`,
  );
}
