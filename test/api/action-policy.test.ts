/**
 * The action policy: a client of the HTTP API may not register definitions that run commands
 * (`shell`) or load code (`js`) unless the operator allowed them, and a worker re-checks a
 * definition that came over HTTP before it runs it, whatever the server that took it allowed.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileActionPolicy, DEFAULT_HTTP_ACTIONS } from "../../src/actions/action-policy.js";
import { EventType, type ExecutionEvent } from "../../src/engine/store.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { serve } from "../../src/api/index.js";
import { eventually, harness } from "./harness.js";

const yaml = { "content-type": "application/yaml" };

const withShell = (marker: string) => `name: touch
tasks:
  first:
    action: echo
    with: { message: "before" }
  touch:
    action: shell
    after: first
    retry: { attempts: 3, backoff: 10ms }
    with: { command: "echo ran > '${marker}'" }
`;

describe("registering over HTTP", () => {
  it("refuses shell and js by default with a 403 naming the task, the action and the flag", async () => {
    const { call } = await harness();
    const shell = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: yaml,
      payload: withShell("/tmp/x"),
    });
    expect(shell.status).toBe(403);
    expect(shell.body.error).toMatchObject({ code: "ACTION_NOT_ALLOWED", field: "body.tasks.touch.action" });
    expect(shell.body.error.message).toBe(
      'Task "touch" uses action "shell", which this server does not allow for definitions registered over HTTP: ' +
        'add "shell" to --allow-actions (or WEFT_ALLOW_ACTIONS) to allow it.',
    );
    const undo = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: yaml,
      payload: `name: u\ntasks:\n  a:\n    action: noop\n    undo: { action: js, with: { module: ./m.mjs } }\n`,
    });
    expect(undo.status).toBe(403);
    expect(undo.body.error.message).toMatch(/^Task "a" \(undo\.action\) uses action "js"/);
    // Nothing was registered.
    expect((await call({ url: "/v1/workflows" })).body.workflows).toEqual([]);
  });

  it("counts a delegate's with.notify as http, and lets through what the operator allowed", async () => {
    const narrow = await harness({ allowActions: ["noop", "delegate"] });
    const notify = await narrow.call({
      method: "POST",
      url: "/v1/workflows",
      headers: yaml,
      payload: `name: n\ntasks:\n  wait:\n    action: delegate\n    with: { notify: { url: "http://127.0.0.1:9/" } }\n`,
    });
    expect(notify.status).toBe(403);
    expect(notify.body.error.message).toMatch(/^Task "wait" \(with\.notify\) uses action "http"/);
    const open = await harness({ allowActions: ["*"] });
    const shell = await open.call({
      method: "POST",
      url: "/v1/workflows",
      headers: yaml,
      payload: withShell("/tmp/x"),
    });
    expect(shell.status).toBe(201);
  });

  it("compiles --allow-actions: a list replaces the default, * allows all, unknown names are refused", () => {
    expect([...compileActionPolicy(undefined).allowed]).toEqual(DEFAULT_HTTP_ACTIONS);
    expect([...compileActionPolicy("").allowed]).toEqual(DEFAULT_HTTP_ACTIONS);
    expect([...compileActionPolicy("echo, shell").allowed]).toEqual(["echo", "shell"]);
    expect(compileActionPolicy(["*"]).allowed.has("js")).toBe(true);
    expect(() => compileActionPolicy("shel")).toThrow(
      /--allow-actions names "shel", which is no action: give some of noop, echo/,
    );
  });
});

describe("a worker running a definition that came over HTTP", () => {
  it("fails a task whose action its own policy refuses, for good, without running it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "weft-policy-"));
    const marker = path.join(dir, "ran");
    // A server that was told to allow everything takes the definition and starts it.
    const server = await harness({ allowActions: ["*"] });
    await server.register(withShell(marker));
    const id = await server.start("touch");
    expect((await server.runtime.store.getExecution(id))?.origin).toBe("http");
    expect((await server.call({ url: "/v1/workflows/touch" })).body).toMatchObject({
      version: 1,
      origin: "http",
    });

    // A worker with the default policy runs it.
    let ended!: (event: ExecutionEvent) => void;
    const end = new Promise<ExecutionEvent>((resolve) => (ended = resolve));
    const runtime = await createRuntime({
      store: server.runtime.store,
      onEvents: (events) => {
        const ends: string[] = [EventType.executionFailed, EventType.executionSucceeded];
        const last = events.find((e) => e.executionId === id && ends.includes(e.type));
        if (last) ended(last);
      },
    });
    const worker = runtime.startWorker({ concurrency: 2 });
    try {
      expect((await end).type).toBe(EventType.executionFailed);
    } finally {
      await worker.stop(0);
    }
    const runs = await server.runtime.store.listRuns(id);
    const touch = runs.find((run) => run.task === "touch")!;
    expect(touch.status).toBe("failed");
    expect(touch.attempt).toBe(1); // not retried: the same policy would refuse it again
    expect(touch.error).toEqual({
      type: "ActionNotAllowed",
      retryable: false,
      message:
        'Task "touch" uses action "shell", which this worker does not allow for definitions registered over HTTP: ' +
        'add "shell" to --allow-actions (or WEFT_ALLOW_ACTIONS) to allow it.',
    });
    expect(runs.find((run) => run.task === "first")?.status).toBe("succeeded");
    expect(existsSync(marker)).toBe(false);
  });

  it("checks undo actions and a delegate's with.notify too", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "weft-policy-"));
    const marker = path.join(dir, "undone");
    const server = await harness({ allowActions: ["*"] });
    await server.register(`name: rollback
tasks:
  book:
    action: echo
    with: { message: booked }
    undo: { action: shell, with: { command: "echo undone > '${marker}'" } }
  pay:
    action: fail
    after: book
    with: { message: card declined, retryable: false }
  approve:
    action: delegate
    with: { notify: { url: "http://127.0.0.1:9/hook" } }
`);
    const id = await server.start("rollback");
    const worker = await createRuntime({
      store: server.runtime.store,
      allowActions: ["echo", "fail", "delegate"],
    });
    expect((await worker.resume(id)).status).toBe("failed");
    const runs = await server.runtime.store.listRuns(id);
    const undo = runs.find((run) => run.task === "book" && run.kind === "undo")!;
    expect(undo.error).toMatchObject({ type: "ActionNotAllowed", retryable: false });
    expect(undo.error?.message).toMatch(
      /^Task "book" \(undo\.action\) uses action "shell", which this worker/,
    );
    const approve = runs.find((run) => run.task === "approve" && run.kind === "task")!;
    expect(approve).toMatchObject({ status: "failed", tokenHash: null });
    expect(approve.error?.message).toMatch(/^Task "approve" \(with\.notify\) uses action "http"/);
    expect(existsSync(marker)).toBe(false);
  });

  it("runs it when the worker allows the action, and trusts definitions from a process with store access", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "weft-policy-"));
    const server = await harness({ allowActions: ["*"] });
    await server.register(withShell(path.join(dir, "http")));
    const fromHttp = await server.start("touch");
    const allowing = await createRuntime({ store: server.runtime.store, allowActions: ["echo", "shell"] });
    expect((await allowing.resume(fromHttp)).status).toBe("succeeded");
    expect(existsSync(path.join(dir, "http"))).toBe(true);

    // `weft run` and `weft start FILE` read the definition themselves: the default policy does not apply.
    const local = await createRuntime({ store: server.runtime.store });
    const { parseWorkflow } = await import("../../src/definition/index.js");
    const execution = await local.run(parseWorkflow(withShell(path.join(dir, "direct")), "local.yaml"));
    expect(execution).toMatchObject({ status: "succeeded", origin: "direct" });
    expect(existsSync(path.join(dir, "direct"))).toBe(true);
  });
});

describe("weft server's in-process workers", () => {
  it("enforce the server's own --allow-actions", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "weft-policy-"));
    const marker = path.join(dir, "ran");
    const server = await serve({ store: "memory:", port: 0, workers: 1, allowActions: ["echo", "shell"] });
    try {
      const post = (url: string, body: string, type = "application/json") =>
        fetch(`${server.url}${url}`, { method: "POST", headers: { "content-type": type }, body });
      expect((await post("/v1/workflows", withShell(marker), "application/yaml")).status).toBe(201);
      const { id } = (await (await post("/v1/executions", '{"workflow":"touch"}')).json()) as { id: string };
      await eventually(
        async () => (await server.runtime.store.getExecution(id))?.status === "succeeded",
        10_000,
        "the execution to succeed",
      );
      expect(existsSync(marker)).toBe(true);
    } finally {
      await server.close();
    }
  });
});
