import type { CliIO } from "./io.js";

/** The exit code of a process ended by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT = 130;

/**
 * While `weft run` runs execution `id`: Ctrl-C (SIGINT) says that the execution is kept and how
 * to carry on with it, then exits 130. Nothing is lost by exiting at once: every state change is
 * already committed, and `weft resume` reclaims the runs this process held. Answers the function
 * that removes the handler (call it when the run ended).
 */
export function explainInterrupt(io: CliIO, id: string, store: string | undefined): () => void {
  const onSignal = () => {
    // The same store the run used: an explicit --store must be given again; $WEFT_STORE still holds.
    const where = store === undefined ? "" : ` --store ${store}`;
    io.stderr(
      `\ninterrupted: execution ${id} is kept in the store, its finished tasks too.\n` +
        `  carry on with:  weft resume ${id}${where}\n` +
        `  or drop it:     weft cancel ${id}${where}\n`,
    );
    process.exit(INTERRUPTED_EXIT);
  };
  process.once("SIGINT", onSignal);
  return () => process.off("SIGINT", onSignal);
}
