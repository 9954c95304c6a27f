/**
 * The `postgres://` store URL, parsed once at the edge (`--store`, `WEFT_STORE`, `createRuntime`)
 * into plain data: nothing here knows the driver. The connection part is the usual libpq URL;
 * Weft's own settings travel as query parameters, each with a documented default.
 */
import { InvalidInputError } from "../../shared/errors.js";

/** The isolation level every transaction of the store begins with. */
export const PostgresIsolation = {
  /** Default: row locks and compare-and-set guards serialise the writes that matter. */
  readCommitted: "read_committed",
  /** Conflicts abort with SQLSTATE 40001 and the transaction is run again. */
  repeatableRead: "repeatable_read",
  /** As repeatable_read, plus PostgreSQL's serializable snapshot isolation checks. */
  serializable: "serializable",
} as const;
export type PostgresIsolation = (typeof PostgresIsolation)[keyof typeof PostgresIsolation];

/** How the connections use TLS (a subset of libpq's `sslmode`). */
export type PostgresSslMode = "disable" | "require" | "verify-full";

/** A parsed `postgres://` URL; connection fields left undefined take node-postgres' defaults (PG* variables). */
export interface PostgresUrl {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** Default "public": where Weft's tables live, created if missing. */
  schema: string;
  /** Default "read_committed". */
  isolation: PostgresIsolation;
  /** Default 10: connections in the pool (the LISTEN connection is extra). */
  pool: number;
  /** Default 1000: how often, in ms, workers look for ready runs when no notification came. */
  pollMs: number;
  /** Default "disable". */
  ssl: PostgresSslMode;
}

const EXAMPLES =
  "postgres://user@host:5432/db, postgresql://user:password@host/db?schema=weft&isolation=serializable&pool=20&poll=500";
const ISOLATIONS = new Set<string>(Object.values(PostgresIsolation));
const SSL_MODES = new Set<string>(["disable", "require", "verify-full"]);
/** A plain identifier: it is quoted everywhere, so case is kept, but nothing needs escaping. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Parses a `postgres://` or `postgresql://` store URL. Anything else, an unknown parameter or a
 * bad value is answered with an `InvalidInputError` that quotes the URL (password hidden) and
 * names the parameter.
 *
 * @example
 * parsePostgresUrl("postgres://postgres@127.0.0.1:5432/test?schema=weft&pool=4")
 * // { host: "127.0.0.1", port: 5432, user: "postgres", database: "test", schema: "weft",
 * //   isolation: "read_committed", pool: 4, pollMs: 1000, ssl: "disable" }
 */
export function parsePostgresUrl(url: string): PostgresUrl {
  const scheme = /^(postgres|postgresql):\/\//i.exec(url);
  if (!scheme) throw invalid(url, 'it does not start with "postgres://" or "postgresql://"');
  let parsed: URL;
  try {
    // WHATWG URL handles userinfo, IPv6 hosts and percent-encoding; the scheme is made
    // lower-case so that "POSTGRES://" parses the same.
    parsed = new URL(`postgres://${url.slice(scheme[0].length)}`);
  } catch {
    throw invalid(url, "it is not a well-formed URL");
  }
  const database = decode(url, parsed.pathname.replace(/^\//, ""), "database");
  if (database.includes("/")) throw invalid(url, `the database name "${database}" contains "/"`);
  const result: PostgresUrl = {
    schema: "public",
    isolation: PostgresIsolation.readCommitted,
    pool: 10,
    pollMs: 1000,
    ssl: "disable",
  };
  // An IPv6 literal comes back bracketed; the driver wants the bare address.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host !== "") result.host = decode(url, host, "host");
  if (parsed.port !== "") result.port = Number(parsed.port);
  if (parsed.username !== "") result.user = decode(url, parsed.username, "user");
  if (parsed.password !== "") result.password = decode(url, parsed.password, "password");
  if (database !== "") result.database = database;
  const seen = new Set<string>();
  for (const [key, value] of parsed.searchParams) {
    if (seen.has(key)) throw invalid(url, `the parameter "${key}" is given twice`);
    seen.add(key);
    applyParameter(url, result, key, value);
  }
  return result;
}

function applyParameter(url: string, result: PostgresUrl, key: string, value: string): void {
  switch (key) {
    case "schema":
      if (!SCHEMA_NAME.test(value)) {
        throw invalid(
          url,
          `the parameter "schema" must be a plain name (letters, digits, _), not "${value}"`,
        );
      }
      result.schema = value;
      return;
    case "isolation": {
      const level = value.toLowerCase();
      if (!ISOLATIONS.has(level)) {
        throw invalid(
          url,
          `the parameter "isolation" must be read_committed, repeatable_read or serializable, not "${value}"`,
        );
      }
      result.isolation = level as PostgresIsolation;
      return;
    }
    case "pool":
      result.pool = wholeNumber(url, key, value, 1, 1000);
      return;
    case "poll":
      result.pollMs = wholeNumber(url, key, value, 10, 3_600_000);
      return;
    case "sslmode":
      if (!SSL_MODES.has(value)) {
        throw invalid(url, `the parameter "sslmode" must be disable, require or verify-full, not "${value}"`);
      }
      result.ssl = value as PostgresSslMode;
      return;
    default:
      throw invalid(
        url,
        `the parameter "${key}" is unknown (the known ones are schema, isolation, pool, poll and sslmode)`,
      );
  }
}

function wholeNumber(url: string, key: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw invalid(url, `the parameter "${key}" must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return n;
}

function decode(url: string, text: string, part: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalid(url, `the ${part} is not valid percent-encoding`);
  }
}

/**
 * The URL with its password replaced by `***`, for messages and logs.
 *
 * @example
 * redactPostgresUrl("postgres://weft:s3cret@db/weft") // "postgres://weft:***@db/weft"
 */
export function redactPostgresUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@?#]*):[^@/?#]*@/i, "$1:***@");
}

function invalid(url: string, why: string): InvalidInputError {
  return new InvalidInputError(
    `The store URL "${redactPostgresUrl(url)}" is not a valid PostgreSQL URL: ${why}. Examples: ${EXAMPLES}.`,
  );
}
