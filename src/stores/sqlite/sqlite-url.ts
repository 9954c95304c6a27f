/**
 * The `sqlite:` store URL, parsed once at the edge (`--store`, `WEFT_STORE`, `createRuntime`).
 * The path is everything after the scheme, as written: `sqlite:.weft/weft.db` is relative to
 * the working directory, `sqlite:/abs/path.db` is absolute, `sqlite::memory:` is an in-memory
 * database that lives as long as its store.
 */
import { InvalidInputError } from "../../shared/errors.js";

/** How hard a commit waits for the disk. */
export type SqliteSynchronous = "normal" | "full";

/** A parsed `sqlite:` URL. */
export interface SqliteUrl {
  /** The database file as written in the URL (relative paths resolve against the working directory), or `:memory:`. */
  path: string;
  /** Default "normal": survives a killed process; "full" also survives a power loss. */
  synchronous: SqliteSynchronous;
}

const SCHEME = "sqlite:";
const EXAMPLES =
  "sqlite:.weft/weft.db, sqlite:/abs/path.db, sqlite:relative.db?synchronous=full or sqlite::memory:";

/**
 * Parses a `sqlite:` store URL; anything else is answered with an `InvalidInputError` that
 * quotes the URL and shows the accepted forms.
 *
 * @example
 * parseSqliteUrl("sqlite:.weft/weft.db") // { path: ".weft/weft.db", synchronous: "normal" }
 * parseSqliteUrl("sqlite:/var/lib/weft.db?synchronous=full") // { path: "/var/lib/weft.db", synchronous: "full" }
 * parseSqliteUrl("sqlite::memory:") // { path: ":memory:", synchronous: "normal" }
 */
export function parseSqliteUrl(url: string): SqliteUrl {
  if (url.slice(0, SCHEME.length).toLowerCase() !== SCHEME) {
    throw invalid(url, 'it does not start with "sqlite:"');
  }
  const rest = url.slice(SCHEME.length);
  const question = rest.indexOf("?");
  const path = question === -1 ? rest : rest.slice(0, question);
  if (path === "") throw invalid(url, "it names no database file");
  // `sqlite://...` means different things to different tools (SQLAlchemy counts slashes):
  // refuse it rather than guess which file was meant.
  if (path.startsWith("//")) {
    throw invalid(
      url,
      'write "sqlite:/abs/path.db" for an absolute path, "sqlite:dir/file.db" for a relative one',
    );
  }
  let synchronous: SqliteSynchronous = "normal";
  const query = question === -1 ? "" : rest.slice(question + 1);
  for (const [key, value] of new URLSearchParams(query)) {
    if (key !== "synchronous")
      throw invalid(url, `the parameter "${key}" is unknown (only "synchronous" is)`);
    const mode = value.toLowerCase();
    if (mode !== "normal" && mode !== "full") {
      throw invalid(url, `synchronous must be "normal" or "full", not "${value}"`);
    }
    synchronous = mode;
  }
  return { path, synchronous };
}

function invalid(url: string, why: string): InvalidInputError {
  return new InvalidInputError(`The store URL "${url}" is not a SQLite URL: ${why}. Examples: ${EXAMPLES}.`);
}
