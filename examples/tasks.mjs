// JavaScript task bodies for the examples, called by the `js` action as fn(args, ctx).
// `args` is the task's `with.args`, expressions already evaluated; the return value is the task's output.

/**
 * Parses the lines of `seq` and multiplies each number: ("1\n2\n3", 2) -> [2, 4, 6].
 * Used by examples/etl.yaml.
 */
export function transform({ lines, factor = 1 }) {
  return String(lines ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const value = Number(line);
      if (!Number.isFinite(value)) throw new Error(`transform: "${line}" is not a number`);
      return value * factor;
    });
}

/** Counts and sums a list of numbers: [2, 4, 6] -> { count: 3, total: 12, max: 6 }. Used by examples/etl.yaml. */
export function summarize({ values }) {
  const list = Array.isArray(values) ? values : [];
  return {
    count: list.length,
    total: list.reduce((sum, value) => sum + value, 0),
    max: list.length > 0 ? Math.max(...list) : null,
  };
}

/**
 * Splits a text into `parts` runs of whole words, as even as possible. Used by examples/fan-out.yaml.
 * ("a b c d e", 3) -> ["a b", "c d", "e"]
 */
export function split({ text, parts = 3 }) {
  const words = String(text ?? "")
    .split(/\s+/)
    .filter(Boolean);
  const size = Math.ceil(words.length / parts) || 1;
  return Array.from({ length: parts }, (_, index) => words.slice(index * size, (index + 1) * size).join(" "));
}

/** Counts the words of a text: "the quick fox" -> 3. Used by examples/fan-out.yaml. */
export function countWords({ text }) {
  return String(text ?? "")
    .split(/\s+/)
    .filter(Boolean).length;
}
