/**
 * Nesting limits for request bodies. The YAML library parses nested collections recursively:
 * a body of a thousand `[` overflows the stack, and after such an overflow inside a regular
 * expression V8 was seen to abort the whole process on the next parse (an out-of-memory in its
 * regexp compiler). So definitions are measured before they are parsed, by a bound computed from
 * the YAML lexer's tokens (iterative, no recursion), and JSON values once parsed (`jsonDepth`).
 */
import { CST, Lexer } from "yaml";

export { jsonDepth, MAX_JSON_DEPTH, tooDeepMessage } from "../shared/json-depth.js";

/** Largest nesting bound a definition's text may reach (an over-estimate: see `yamlDepthBound`). */
export const MAX_DEFINITION_DEPTH = 200;

/** The limit as messages say it, for files and request bodies alike. */
export const DEFINITION_DEPTH_LIMIT = `${MAX_DEFINITION_DEPTH} levels of indentation and brackets`;

const BLOCK_INDICATORS: ReadonlySet<string> = new Set(["seq-item-ind", "explicit-key-ind", "map-value-ind"]);

/**
 * An upper bound of a YAML text's nesting depth: open flow collections, plus on each line its
 * indentation and its block indicators (`- `, `? `, `: `), since every nested block level needs
 * one of the two. Stops once past `limit`.
 *
 * @example
 * yamlDepthBound("a:\n  b: [1, [2]]\n") // 5: indentation 2, one indicator, two flow levels
 */
export function yamlDepthBound(text: string, limit = MAX_DEFINITION_DEPTH): number {
  let flow = 0;
  let indent = 0;
  let indicators = 0;
  let lineStart = true;
  let bound = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === "newline") {
      lineStart = true;
      indent = 0;
      indicators = 0;
      continue;
    }
    if (type === "space") {
      if (lineStart) indent = token.length;
      continue;
    }
    lineStart = false;
    if (type === "flow-seq-start" || type === "flow-map-start") flow += 1;
    else if (type === "flow-seq-end" || type === "flow-map-end") flow = Math.max(0, flow - 1);
    // Inside flow collections `:` separates keys from values on one line; it does not nest.
    else if (flow === 0 && type !== null && BLOCK_INDICATORS.has(type)) indicators += 1;
    bound = Math.max(bound, flow + indent + indicators);
    if (bound > limit) return bound;
  }
  return bound;
}
