import type { Command } from "commander";
import { DEFAULT_STORE_URL } from "../runtime/open-store.js";
import type { CliIO } from "./io.js";

/** Adds `--store URL` (default: $WEFT_STORE, then the embedded SQLite file). */
export function withStoreOption(command: Command): Command {
  return command.option(
    "--store <url>",
    `store URL: memory:, sqlite:PATH (default: $WEFT_STORE or ${DEFAULT_STORE_URL})`,
  );
}

export function storeUrl(options: { store?: string }, io: CliIO): string {
  return options.store ?? (io.env.WEFT_STORE || DEFAULT_STORE_URL);
}
