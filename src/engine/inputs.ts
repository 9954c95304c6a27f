import type { InputSpec, WorkflowSpec } from "../definition/spec.js";
import { InvalidInputError } from "../shared/errors.js";
import { jsonDepth, MAX_JSON_DEPTH, tooDeepMessage } from "../shared/json-depth.js";

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function matchesType(spec: InputSpec, value: unknown): boolean {
  return spec.type === "any" || typeOf(value) === spec.type;
}

/**
 * Checks an execution's input against the workflow's declared inputs and fills in defaults.
 * Unknown names, missing required inputs and wrong types are refused with a message naming
 * the input: an execution never starts on input it would misread.
 *
 * @example
 * resolveInputs(spec, { count: 5 }) // { count: 5, mode: "full" } when mode defaults to "full"
 */
export function resolveInputs(spec: WorkflowSpec, input: Record<string, unknown>): Record<string, unknown> {
  // Copies and expressions recurse over inputs: a deep one overflowed the stack (the API checks bodies too).
  if (jsonDepth(input) > MAX_JSON_DEPTH) {
    throw new InvalidInputError(
      tooDeepMessage(`The input of workflow "${spec.name}"`, `${MAX_JSON_DEPTH} levels`),
    );
  }
  const resolved: Record<string, unknown> = {};
  const declared = Object.keys(spec.inputs);
  for (const name of Object.keys(input)) {
    if (!(name in spec.inputs)) {
      const known = declared.length > 0 ? `declared inputs: ${declared.join(", ")}` : "it declares no inputs";
      throw new InvalidInputError(`Unknown input "${name}" for workflow "${spec.name}" (${known}).`);
    }
  }
  for (const [name, inputSpec] of Object.entries(spec.inputs)) {
    if (input[name] !== undefined) {
      const value = input[name];
      if (!matchesType(inputSpec, value)) {
        throw new InvalidInputError(
          `Input "${name}" must be of type ${inputSpec.type}, got ${typeOf(value)} ${JSON.stringify(value)}.`,
        );
      }
      resolved[name] = value;
    } else if (inputSpec.default !== undefined) {
      resolved[name] = structuredClone(inputSpec.default);
    } else if (inputSpec.required) {
      throw new InvalidInputError(
        `Missing required input "${name}" (${inputSpec.type}) for workflow "${spec.name}".`,
      );
    }
  }
  return resolved;
}

/**
 * Reads a `-i name=value` text as the declared type: numbers and booleans parsed, objects and
 * arrays as JSON, strings as they are.
 */
export function coerceInput(spec: WorkflowSpec, name: string, text: string): unknown {
  const inputSpec = spec.inputs[name];
  if (!inputSpec) return text;
  switch (inputSpec.type) {
    case "string":
      return text;
    case "number": {
      const value = Number(text);
      if (text.trim() === "" || !Number.isFinite(value)) {
        throw new InvalidInputError(`Input "${name}" must be a number, got "${text}".`);
      }
      return value;
    }
    case "boolean":
      if (text === "true" || text === "false") return text === "true";
      throw new InvalidInputError(`Input "${name}" must be true or false, got "${text}".`);
    default:
      try {
        return JSON.parse(text);
      } catch {
        if (inputSpec.type === "any") return text;
        throw new InvalidInputError(
          `Input "${name}" must be JSON (${inputSpec.type}), got ${JSON.stringify(text)}.`,
        );
      }
  }
}
