import { WeftError } from "../shared/errors.js";

/**
 * A graph that must be acyclic has a cycle. `path` names the nodes around it, first and last equal,
 * so the message shows the whole loop and the user knows which dependency to remove.
 * Code: `"CYCLE"`.
 *
 * @example
 * new CycleError(["a", "b", "c", "a"]).message; // "cycle: a -> b -> c -> a"
 */
export class CycleError extends WeftError {
  /** The nodes around the cycle, as strings, the first repeated at the end. */
  readonly path: string[];

  constructor(path: readonly unknown[]) {
    const names = path.map(String);
    super("CYCLE", `cycle: ${names.join(" -> ")}`);
    this.path = names;
  }
}
