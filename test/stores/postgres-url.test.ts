/** `postgres://` store URLs: the connection part as libpq reads it, Weft's settings as parameters. */
import { describe, expect, it } from "vitest";
import { InvalidInputError, WeftError } from "../../src/shared/errors.js";
import { parsePostgresUrl, redactPostgresUrl } from "../../src/stores/postgres/postgres-url.js";

const defaults = { schema: "public", isolation: "read_committed", pool: 10, pollMs: 1000, ssl: "disable" };

describe("parsePostgresUrl", () => {
  it.each([
    [
      "postgres://postgres@127.0.0.1:5432/test",
      { ...defaults, host: "127.0.0.1", port: 5432, user: "postgres", database: "test" },
    ],
    [
      "postgresql://weft:p%40ss%2Fword@db.example.com/weft_prod",
      { ...defaults, host: "db.example.com", user: "weft", password: "p@ss/word", database: "weft_prod" },
    ],
    [
      "POSTGRES://u@[::1]:6543/d?schema=Weft_2&isolation=SERIALIZABLE&pool=25&poll=250&sslmode=verify-full",
      {
        host: "::1",
        port: 6543,
        user: "u",
        database: "d",
        schema: "Weft_2",
        isolation: "serializable",
        pool: 25,
        pollMs: 250,
        ssl: "verify-full",
      },
    ],
    [
      "postgres://h/d?isolation=repeatable_read",
      { ...defaults, host: "h", database: "d", isolation: "repeatable_read" },
    ],
    // Everything left out takes node-postgres' defaults (PGHOST, PGUSER, ... or localhost).
    ["postgres://", defaults],
    ["postgres:///weft?sslmode=require", { ...defaults, database: "weft", ssl: "require" }],
  ])("parses %s", (url, expected) => {
    expect(parsePostgresUrl(url)).toEqual(expected);
  });

  it.each([
    ["sqlite:.weft/weft.db", 'does not start with "postgres://"'],
    ["postgres:/one-slash/db", 'does not start with "postgres://"'],
    ["postgres://h:99999/db", "not a well-formed URL"],
    ["postgres://h/a/b", 'the database name "a/b" contains "/"'],
    ["postgres://h/db?schema=has-dash", 'the parameter "schema" must be a plain name'],
    ["postgres://h/db?schema=", 'the parameter "schema" must be a plain name'],
    ["postgres://h/db?isolation=snapshot", 'the parameter "isolation" must be read_committed'],
    ["postgres://h/db?pool=0", 'the parameter "pool" must be a whole number from 1 to 1000, not "0"'],
    ["postgres://h/db?pool=2.5", 'the parameter "pool" must be a whole number'],
    ["postgres://h/db?poll=fast", 'the parameter "poll" must be a whole number from 10'],
    ["postgres://h/db?sslmode=prefer", 'the parameter "sslmode" must be disable, require or verify-full'],
    ["postgres://h/db?pool=2&pool=3", 'the parameter "pool" is given twice'],
    ["postgres://h/db?search_path=x", 'the parameter "search_path" is unknown'],
  ])("refuses %s, naming what is wrong", (url, why) => {
    let error: unknown;
    try {
      parsePostgresUrl(url);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toBeInstanceOf(WeftError);
    expect((error as Error).message).toContain(`"${url}"`);
    expect((error as Error).message).toContain(why);
  });

  it("hides the password of a URL it refuses", () => {
    expect(() => parsePostgresUrl("postgres://weft:s3cret@h/db?pool=x")).toThrow(
      /"postgres:\/\/weft:\*\*\*@h\/db\?pool=x"/,
    );
    expect(() => parsePostgresUrl("postgres://weft:s3cret@h/db?pool=x")).not.toThrow(/s3cret/);
    expect(redactPostgresUrl("postgresql://weft@h/db")).toBe("postgresql://weft@h/db");
  });
});
