import path from "node:path";
import { describe, expect, it } from "vitest";
import { ActionArgumentError } from "../../src/actions/action.js";
import { echoAction, failAction, noopAction, sleepAction } from "../../src/actions/basic-actions.js";
import { jsAction } from "../../src/actions/js-action.js";
import { builtinActions, getAction } from "../../src/actions/registry.js";
import { TaskFailure, toTaskError } from "../../src/shared/errors.js";
import { here, makeContext, rejection } from "./context.js";

describe("registry", () => {
  it("holds the built-in actions the worker runs, not delegate or function", () => {
    expect(Object.keys(builtinActions).sort()).toEqual([
      "echo",
      "fail",
      "http",
      "js",
      "noop",
      "shell",
      "sleep",
    ]);
    expect(getAction("shell")).toBe(builtinActions.shell);
    expect(getAction("delegate")).toBeUndefined();
    expect(getAction("function")).toBeUndefined();
    expect(getAction("toString")).toBeUndefined();
    expect(Object.isFrozen(builtinActions)).toBe(true);
  });
});

describe("ActionArgumentError", () => {
  it("names the action and the field, and is stored as not retryable", () => {
    const error = new ActionArgumentError("shell", "command", "must be a string");
    expect(error.message).toBe('shell: "with.command" must be a string');
    expect(error.code).toBe("ACTION_ARGUMENT");
    expect(toTaskError(error)).toEqual({
      type: "ActionArgumentError",
      message: 'shell: "with.command" must be a string',
      retryable: false,
    });
  });
});

describe("noop and echo", () => {
  it("noop outputs its whole `with`", async () => {
    const { ctx } = makeContext();
    expect(await noopAction({}, ctx)).toEqual({});
    expect(await noopAction({ a: 1, b: [true] }, ctx)).toEqual({ a: 1, b: [true] });
  });

  it("echo outputs `with.message`, null when absent", async () => {
    const { ctx } = makeContext();
    expect(await echoAction({ message: "hi" }, ctx)).toBe("hi");
    expect(await echoAction({ message: { n: 1 } }, ctx)).toEqual({ n: 1 });
    expect(await echoAction({}, ctx)).toBeNull();
  });
});

describe("sleep", () => {
  it("resolves null after the duration", async () => {
    const { ctx } = makeContext();
    const started = Date.now();
    expect(await sleepAction({ duration: "50ms" }, ctx)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(await sleepAction({ duration: 0 }, ctx)).toBeNull();
  });

  it("rejects an invalid duration", async () => {
    const { ctx } = makeContext();
    const error = await rejection(sleepAction({ duration: "soon" }, ctx));
    expect(error).toBeInstanceOf(ActionArgumentError);
    expect((error as Error).message).toMatch(/^sleep: "with.duration" must be .*got "soon"$/);
    expect(await rejection(sleepAction({}, ctx))).toBeInstanceOf(ActionArgumentError);
  });

  it("rejects with the signal's reason as soon as it aborts", async () => {
    const { ctx, controller } = makeContext();
    const reason = new Error("timed out");
    setTimeout(() => controller.abort(reason), 20);
    const started = Date.now();
    expect(await rejection(sleepAction({ duration: "30s" }, ctx))).toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("rejects with an AbortError when aborted without a reason, even before it starts", async () => {
    const { ctx, controller } = makeContext();
    controller.abort();
    const error = await rejection(sleepAction({ duration: "1s" }, ctx));
    expect((error as Error).name).toBe("AbortError");
  });
});

describe("fail", () => {
  it("fails retryably with a default message", async () => {
    const { ctx } = makeContext();
    const error = await rejection(failAction({}, ctx));
    expect(error).toBeInstanceOf(TaskFailure);
    expect(toTaskError(error)).toEqual({
      type: "TaskFailure",
      message: "failed on purpose",
      retryable: true,
    });
  });

  it("takes the message and retryable flag from `with`", async () => {
    const { ctx } = makeContext();
    const error = await rejection(failAction({ message: "nope", retryable: false }, ctx));
    expect(toTaskError(error)).toMatchObject({ message: "nope", retryable: false });
  });

  it("with untilAttempt fails every earlier attempt and then succeeds", async () => {
    for (const attempt of [1, 2]) {
      const { ctx } = makeContext({ attempt });
      expect(await rejection(failAction({ untilAttempt: 3 }, ctx))).toBeInstanceOf(TaskFailure);
    }
    for (const attempt of [3, 4]) {
      const { ctx } = makeContext({ attempt });
      expect(await failAction({ untilAttempt: 3 }, ctx)).toEqual({ attempt });
    }
  });

  it("rejects bad arguments", async () => {
    const { ctx } = makeContext();
    for (const args of [{ untilAttempt: 0 }, { untilAttempt: "2" }, { retryable: "no" }, { message: 5 }]) {
      expect(await rejection(failAction(args, ctx))).toBeInstanceOf(ActionArgumentError);
    }
  });
});

describe("js", () => {
  it("calls the default export with `with.args` and the context", async () => {
    const { ctx } = makeContext({ attempt: 2 });
    const output = await jsAction({ module: "./fixtures/tasks.mjs", args: { name: "Ada" } }, ctx);
    expect(output).toEqual({ greeting: "hello Ada", attempt: 2, baseDir: here });
  });

  it("calls a named export; `with.args` defaults to {} and undefined becomes null", async () => {
    const { ctx } = makeContext();
    const file = path.join(here, "fixtures", "tasks.mjs");
    expect(await jsAction({ module: file, export: "sum", args: { numbers: [1, 2, 3] } }, ctx)).toBe(6);
    expect(await jsAction({ module: file }, ctx)).toMatchObject({ greeting: "hello world" });
    expect(await jsAction({ module: file, export: "nothing" }, ctx)).toBeNull();
  });

  it("resolves relative modules against ctx.baseDir", async () => {
    const { ctx } = makeContext({ baseDir: path.join(here, "fixtures") });
    expect(await jsAction({ module: "tasks.mjs", export: "sum", args: { numbers: [2] } }, ctx)).toBe(2);
  });

  it("says which module is missing", async () => {
    const { ctx } = makeContext();
    const error = await rejection(jsAction({ module: "./fixtures/absent.mjs" }, ctx));
    expect(error).toBeInstanceOf(ActionArgumentError);
    expect((error as Error).message).toContain(path.join(here, "fixtures", "absent.mjs"));
    expect(toTaskError(error).retryable).toBe(false);
  });

  it("says which export is missing or not a function", async () => {
    const { ctx } = makeContext();
    const missing = await rejection(jsAction({ module: "./fixtures/tasks.mjs", export: "nope" }, ctx));
    expect(missing).toBeInstanceOf(ActionArgumentError);
    expect((missing as Error).message).toMatch(/"nope".*tasks\.mjs.*no such export \(it exports .*sum/);
    const notFn = await rejection(jsAction({ module: "./fixtures/tasks.mjs", export: "notAFunction" }, ctx));
    expect(notFn).toBeInstanceOf(ActionArgumentError);
    expect((notFn as Error).message).toMatch(/"notAFunction".*tasks\.mjs.*42 \(number\), not a function/);
  });

  it("fails for good when the module throws while loading", async () => {
    const { ctx } = makeContext();
    const error = await rejection(jsAction({ module: "./fixtures/broken.mjs" }, ctx));
    expect(toTaskError(error)).toMatchObject({ type: "ModuleLoadError", retryable: false });
    expect((error as Error).message).toContain("boom while loading");
  });

  it("passes on what the function throws", async () => {
    const { ctx } = makeContext();
    const error = await rejection(jsAction({ module: "./fixtures/tasks.mjs", export: "refuse" }, ctx));
    expect(toTaskError(error)).toEqual({ type: "PaymentError", message: "card declined", retryable: false });
  });

  it("ends the attempt when the signal aborts, even if the function ignores it", async () => {
    const { ctx, controller } = makeContext();
    const reason = new Error("cancelled");
    setTimeout(() => controller.abort(reason), 50);
    const started = Date.now();
    expect(await rejection(jsAction({ module: "./fixtures/tasks.mjs", export: "stubborn" }, ctx))).toBe(
      reason,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("rejects a missing module argument", async () => {
    const { ctx } = makeContext();
    const error = await rejection(jsAction({}, ctx));
    expect((error as Error).message).toBe('js: "with.module" must be a non-empty string');
  });
});
