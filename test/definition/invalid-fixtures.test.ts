/**
 * Every fixture in test/fixtures/invalid/ with the exact diagnostics it must produce
 * (`file:line:col: message`). A new fixture without an entry here fails the suite.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DefinitionError,
  formatDiagnostic,
  parseWorkflow,
  validateWorkflowSource,
} from "../../src/definition/index.js";

const DIR = "test/fixtures/invalid";

/** Expected diagnostics per fixture; each line is prefixed with `test/fixtures/invalid/`. */
const EXPECTED: Record<string, string[]> = {
  "action-arguments.yaml": [
    'action-arguments.yaml:8:5: task "build": "with.command" is missing, expected a non-empty string (action shell)',
    'action-arguments.yaml:8:13: task "build": unknown field "comand" in "with" of action shell (did you mean "command"?); expected one of: command, env, cwd',
    'action-arguments.yaml:11:18: task "fetch": "with.url" is "ftp://example.com/data", expected an absolute http: or https: URL (action http)',
    'action-arguments.yaml:14:23: task "wait": "with.duration" is "forever", expected a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d (action sleep)',
    'action-arguments.yaml:20:5: task "price": "with.module" is missing, expected a non-empty string (action js)',
    'action-arguments.yaml:23:27: task "flaky": "with.untilAttempt" is 0, expected a whole number >= 1 (action fail)',
    'action-arguments.yaml:28:49: task "notify": unknown field "bdy" in "with.notify" of action delegate (did you mean "body"?); expected one of: url, method, headers, body',
  ],
  "bad-duration.yaml": [
    'bad-duration.yaml:3:12: "defaults.timeout" is "30 seconds", expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
    'bad-duration.yaml:8:14: task "wait": "timeout" is -5, expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
  ],
  "bad-retry.yaml": [
    'bad-retry.yaml:3:22: "defaults.retry.attempts" is 0, expected an integer >= 1',
    'bad-retry.yaml:9:17: task "call": "retry.attempts" is 2.5, expected an integer >= 1',
    'bad-retry.yaml:10:16: task "call": "retry.backoff" is "soon", expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
    'bad-retry.yaml:11:15: task "call": "retry.factor" is 0.5, expected a number >= 1',
    'bad-retry.yaml:12:22: task "call": "retry.interruptions" is -1, expected an integer >= 0',
  ],
  "bad-when.yaml": [
    'bad-when.yaml:7:11: task "maybe": "when" is "inputs.enabled", expected one "${{ }}" expression, like "${{ inputs.count > 1 }}"',
  ],
  "cycle.yaml": [
    "cycle.yaml:3:3: cycle: a -> b -> c -> a; a task cannot wait for itself, directly or through other tasks",
  ],
  "dashed-names.yaml": [
    'dashed-names.yaml:9:14: task "report": unknown task "load" in the expression "${{ tasks.load-db.output }}" of "with.minus" (known tasks: load-db); a name with "-" is written tasks.`load-db`',
    'dashed-names.yaml:10:17: task "report": the expression "${{ tasks[\\"load-db\\"].output }}" in "with.brackets" writes tasks["load-db"], which JSONata reads as a filter, not a field: write tasks.`load-db`',
  ],
  "duplicate-task.yaml": [
    'duplicate-task.yaml:6:3: duplicate task name "fetch": each task needs a name of its own',
  ],
  "empty.yaml": [
    'empty.yaml:1:1: the file holds no workflow, expected a mapping with at least "name" and "tasks"',
  ],
  "function-action.yaml": [
    'function-action.yaml:4:13: task "compute": action "function" is only available from the TypeScript builder (a task given a function); expected one of the actions: noop, echo, sleep, fail, shell, http, js, delegate, workflow',
  ],
  "huge-duration.yaml": [
    'huge-duration.yaml:4:24: "defaults.retry.maxBackoff" is "999999999999d", expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
    'huge-duration.yaml:8:14: task "wait": "timeout" is "999999999999d", expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
    'huge-duration.yaml:9:23: task "wait": "retry.backoff" is 31536000001, expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
  ],
  "input-default.yaml": [
    'input-default.yaml:3:35: input "count": "default" is "three", expected a number (the input\'s type)',
    'input-default.yaml:4:3: input name "2fast" is invalid, expected an input name (a letter or _, then letters, digits or _)',
  ],
  "invalid-expression.yaml": [
    'invalid-expression.yaml:8:16: task "compute": invalid expression "${{ inputs.count * }}" in "with.message": Unexpected end of expression (at character 14)',
  ],
  "invalid-name.yaml": [
    'invalid-name.yaml:1:7: "name" is "Nightly ETL", expected lowercase letters, digits, "_" and "-" only, like "nightly-etl"',
  ],
  "many-errors.yaml": [
    'many-errors.yaml:4:3: task "fetch": "with.url" is missing, expected an http: or https: URL (action http)',
    'many-errors.yaml:6:14: task "fetch": "timeout" is "10 minutes", expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
    'many-errors.yaml:9:20: task "parse": unknown task "fecth" in "after" (known tasks: fetch, store)',
    'many-errors.yaml:13:5: task "store": unknown field "allowfailure" (did you mean "allowFailure"?); expected one of: action, with, after, when, forEach, maxParallel, trigger, allowFailure, retry, timeout, undo, description',
    'many-errors.yaml:14:22: task "store": unknown task "pars" in the expression "${{ tasks.pars.output }}" of "with.command" (known tasks: fetch, parse)',
  ],
  "missing-name.yaml": [
    'missing-name.yaml:1:1: "name" is missing, expected a workflow name like "nightly-etl"',
  ],
  "no-tasks.yaml": ['no-tasks.yaml:2:8: "tasks" is empty, expected at least one task'],
  "reserved-name.yaml": ['reserved-name.yaml:3:3: task name "__proto__" is reserved, choose another name'],
  "self-dependency.yaml": ['self-dependency.yaml:5:13: task "mirror": "after" names the task itself'],
  "undo-and-output.yaml": [
    'undo-and-output.yaml:8:24: task "create": unknown task "creat" in the expression "${{ tasks.creat.output }}" of "undo.with.message" (known tasks: create)',
    'undo-and-output.yaml:11:12: unknown task "nothing" in the expression "${{ tasks.nothing.output }}" of "output.missing" (known tasks: create)',
  ],
  "unknown-action.yaml": [
    'unknown-action.yaml:4:13: task "build": "action" is "shel" (did you mean "shell"?), expected one of the actions: noop, echo, sleep, fail, shell, http, js, delegate, workflow',
  ],
  "unknown-after.yaml": [
    'unknown-after.yaml:14:13: task "load": unknown task "dubble" in "after" (known tasks: approve, double, extract)',
  ],
  "unknown-expression-task.yaml": [
    'unknown-expression-task.yaml:9:16: task "load": unknown task "extrct" in the expression "${{ tasks.extrct.output.stdout }}" of "with.message" (known tasks: extract)',
  ],
  "unknown-field.yaml": [
    'unknown-field.yaml:7:5: task "second": unknown field "aftr" (did you mean "after"?); expected one of: action, with, after, when, forEach, maxParallel, trigger, allowFailure, retry, timeout, undo, description',
    'unknown-field.yaml:8:14: task "second": unknown field "attempt" (did you mean "attempts"?); expected one of: attempts, backoff, factor, maxBackoff, interruptions',
  ],
  "unterminated-expression.yaml": [
    'unterminated-expression.yaml:6:16: task "greet": invalid template "hello ${{ inputs.name" in "with.message": "${{" at character 7 has no closing "}}"',
  ],
  "wrong-type.yaml": [
    'wrong-type.yaml:2:10: "version" is "2", expected an integer >= 1',
    'wrong-type.yaml:6:19: task "first": "allowFailure" is "yes", expected true or false',
    'wrong-type.yaml:9:12: task "second": "after" is 5, expected a task name or a list of task names',
    'wrong-type.yaml:10:11: task "second": "with" is "hello", expected a mapping of argument names to values',
    'wrong-type.yaml:11:14: task "second": "trigger" is "always", expected one of all_success, all_done, any_failed',
  ],
  "yaml-syntax.yaml": [
    "yaml-syntax.yaml:6:3: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }",
  ],
};

const read = (name: string) => readFileSync(join(DIR, name), "utf8");

describe("invalid fixtures", () => {
  it("has an expectation for every fixture file", () => {
    expect(readdirSync(DIR).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))("%s", (name, lines) => {
    const file = `${DIR}/${name}`;
    const diagnostics = validateWorkflowSource(read(name), file);
    expect(diagnostics.map(formatDiagnostic)).toEqual(lines.map((line) => `${DIR}/${line}`));
  });

  it.each(Object.keys(EXPECTED))("%s: parseWorkflow throws them together as one DefinitionError", (name) => {
    const file = `${DIR}/${name}`;
    const error = (() => {
      try {
        parseWorkflow(read(name), file);
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DefinitionError);
    const definitionError = error as DefinitionError;
    expect(definitionError.code).toBe("INVALID_DEFINITION");
    expect(definitionError.diagnostics).toEqual(validateWorkflowSource(read(name), file));
    expect(definitionError.message).toBe(definitionError.diagnostics.map(formatDiagnostic).join("\n"));
  });

  it("names the task of task problems", () => {
    const diagnostics = validateWorkflowSource(read("many-errors.yaml"), "many-errors.yaml");
    expect(diagnostics.map((d) => d.task)).toEqual(["fetch", "fetch", "parse", "store", "store"]);
    const [cycle] = validateWorkflowSource(read("cycle.yaml"), "cycle.yaml");
    expect(cycle).toMatchObject({ file: "cycle.yaml", line: 3, col: 3, task: "a" });
  });
});
