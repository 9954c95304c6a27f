import type { Command } from "commander";
import { DEFAULT_STORE_URL } from "../runtime/open-store.js";
import { InvalidInputError } from "../shared/errors.js";
import type { CliIO } from "./io.js";

/** Adds `--store URL` (default: $WEFT_STORE, then the embedded SQLite file). */
export function withStoreOption(command: Command): Command {
  return command.option(
    "--store <url>",
    `store URL: memory:, sqlite:PATH (default: $WEFT_STORE or ${DEFAULT_STORE_URL})`,
  );
}

/**
 * The store a command opens: `--store`, else $WEFT_STORE, else the embedded file. Commands that
 * can call a server resolve $WEFT_SERVER before they get here; for the others (`run`, `worker`,
 * `server`, `resume`) a $WEFT_SERVER with no store named is refused, never silently ignored in
 * favour of a new local file.
 */
export function storeUrl(options: { store?: string }, io: CliIO): string {
  if (options.store === undefined && !io.env.WEFT_STORE && io.env.WEFT_SERVER)
    throw new InvalidInputError(
      "WEFT_SERVER is set, but this command runs in this process and needs a store: give --store URL " +
        "(or set WEFT_STORE, or unset WEFT_SERVER).",
    );
  return options.store ?? (io.env.WEFT_STORE || DEFAULT_STORE_URL);
}
