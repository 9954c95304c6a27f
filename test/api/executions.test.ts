/** Executions over HTTP: start, list with cursors, report, events, cancel, retry. */
import { describe, expect, it } from "vitest";
import { executionReport } from "../../src/runtime/report.js";
import { APPROVAL, eventually, harness, waitingToken } from "./harness.js";

const FLAKY = `name: flaky
tasks:
  flaky:
    action: fail
    with: { untilAttempt: 2, retryable: false }
  after_it:
    action: echo
    after: flaky
    with: { message: done }
output:
  attempt: "\${{ tasks.flaky.output.attempt }}"
`;

describe("POST /v1/executions", () => {
  it("starts a registered workflow: 201 { id } with its location", async () => {
    const { call, register, runtime } = await harness();
    await register(APPROVAL);
    const answer = await call({ method: "POST", url: "/v1/executions", payload: { workflow: "approval" } });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ workflow: "approval", version: 1, status: "running" });
    expect(answer.headers.location).toBe(`/v1/executions/${answer.body.id}`);
    expect((await runtime.store.getExecution(answer.body.id))?.version).toBe(1);
  });

  it("answers 404 for an unknown workflow, 400 naming the field or the input", async () => {
    const { call, register } = await harness();
    await register("name: typed\ninputs:\n  count: { type: number }\ntasks:\n  a: { action: noop }\n");
    const unknown = await call({ method: "POST", url: "/v1/executions", payload: { workflow: "nope" } });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "WORKFLOW_NOT_FOUND" } } });
    const version = await call({
      method: "POST",
      url: "/v1/executions",
      payload: { workflow: "typed", version: 9 },
    });
    expect(version.status).toBe(404);
    const misspelt = await call({ method: "POST", url: "/v1/executions", payload: { workflw: "typed" } });
    expect(misspelt).toMatchObject({
      status: 400,
      body: { error: { code: "INVALID_REQUEST", field: "body.workflow" } },
    });
    const extra = await call({
      method: "POST",
      url: "/v1/executions",
      payload: { workflow: "typed", inputs: {} },
    });
    expect(extra.body.error).toMatchObject({
      field: "body.inputs",
      message: expect.stringContaining("Unknown field"),
    });
    const input = await call({
      method: "POST",
      url: "/v1/executions",
      payload: { workflow: "typed", input: { count: "many" } },
    });
    expect(input).toMatchObject({ status: 400, body: { error: { code: "INVALID_INPUT" } } });
    expect(input.body.error.message).toContain('Input "count"');
    const notObject = await call({
      method: "POST",
      url: "/v1/executions",
      payload: { workflow: "typed", input: [1] },
    });
    expect(notObject.body.error.field).toBe("body.input");
  });
});

describe("GET /v1/executions", () => {
  it("pages newest first with an opaque cursor, filtered by workflow and status", async () => {
    const { call, register, start } = await harness();
    await register(APPROVAL);
    await register("name: other\ntasks:\n  a: { action: delegate }\n");
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await start(i % 2 === 0 ? "approval" : "other"));
    await call({ method: "POST", url: `/v1/executions/${ids[0]}/cancel` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call({ url: `/v1/executions?limit=3${cursor ? `&cursor=${cursor}` : ""}` });
      expect(page.status).toBe(200);
      expect(page.body.executions.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.executions.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const stored = await call({ url: "/v1/executions?limit=500" });
    expect(seen).toEqual(stored.body.executions.map((e: { id: string }) => e.id));
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(stored.body.nextCursor).toBeNull();
    const approvals = await call({ url: "/v1/executions?workflow=approval" });
    expect(approvals.body.executions).toHaveLength(4);
    const cancelled = await call({ url: "/v1/executions?status=cancelled" });
    expect(cancelled.body.executions.map((e: { id: string }) => e.id)).toEqual([ids[0]]);
    expect(cancelled.body.executions[0]).toMatchObject({
      workflow: "approval",
      status: "cancelled",
      version: 1,
    });
  });

  it("answers 400 naming the bad query field", async () => {
    const { call } = await harness();
    for (const [query, field] of [
      ["limit=0", "query.limit"],
      ["limit=501", "query.limit"],
      ["limit=ten", "query.limit"],
      ["status=done", "query.status"],
      ["cursor=not-a-cursor", "query.cursor"],
      ["workflow=Bad%20Name", "query.workflow"],
      ["colour=red", "query.colour"],
    ]) {
      const answer = await call({ url: `/v1/executions?${query}` });
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.field, query).toBe(field);
      expect(answer.body.error.message, query).toContain(field);
    }
  });
});

describe("GET /v1/executions/{id} and /events", () => {
  it("answers the object weft status --json prints, and the history", async () => {
    const { call, register, start, runtime } = await harness();
    await register(APPROVAL);
    const id = await start("approval");
    const answer = await call({ url: `/v1/executions/${id}` });
    expect(answer.status).toBe(200);
    const expected = executionReport(await runtime.engine.getExecution(id), await runtime.store.listRuns(id));
    expect(answer.body).toEqual(JSON.parse(JSON.stringify(expected)));
    const events = await call({ url: `/v1/executions/${id}/events` });
    expect(events.body.events.map((e: { type: string }) => e.type)).toEqual([
      "execution:created",
      "task:ready",
    ]);
    const after = await call({ url: `/v1/executions/${id}/events?after=${events.body.events[0].id}` });
    expect(after.body.events.map((e: { type: string }) => e.type)).toEqual(["task:ready"]);
    for (const url of ["/v1/executions/nope", "/v1/executions/nope/events"]) {
      const missing = await call({ url });
      expect(missing).toMatchObject({ status: 404, body: { error: { code: "EXECUTION_NOT_FOUND" } } });
    }
    expect((await call({ url: `/v1/executions/${id}/events?after=-1` })).body.error.field).toBe(
      "query.after",
    );
  });
});

describe("POST /v1/executions/{id}/cancel", () => {
  it("cancels, with or without a body, and answers the report; 404 and 400 otherwise", async () => {
    const { call, register, start } = await harness();
    await register(APPROVAL);
    const plain = await start("approval");
    const answer = await call({ method: "POST", url: `/v1/executions/${plain}/cancel` });
    expect(answer).toMatchObject({ status: 200, body: { id: plain, status: "cancelled" } });
    // Cancelling again changes nothing.
    expect((await call({ method: "POST", url: `/v1/executions/${plain}/cancel` })).body.status).toBe(
      "cancelled",
    );
    const withUndo = await start("approval");
    const undo = await call({
      method: "POST",
      url: `/v1/executions/${withUndo}/cancel`,
      payload: { undo: true },
    });
    expect(undo.body.status).toBe("cancelled");
    const empty = await call({
      method: "POST",
      url: `/v1/executions/${withUndo}/cancel`,
      headers: { "content-type": "application/json" },
      payload: "",
    });
    expect(empty.status).toBe(200);
    const bad = await call({
      method: "POST",
      url: `/v1/executions/${withUndo}/cancel`,
      payload: { undo: "yes" },
    });
    expect(bad).toMatchObject({ status: 400, body: { error: { field: "body.undo" } } });
    const missing = await call({ method: "POST", url: "/v1/executions/nope/cancel", payload: {} });
    expect(missing.status).toBe(404);
  });
});

describe("POST /v1/executions/{id}/tasks/{task}/retry", () => {
  it("runs a failed task again and the execution resumes (202), with the in-process worker", async () => {
    const { call, register, start } = await harness({ workers: 2 });
    await register(FLAKY);
    const id = await start("flaky");
    await eventually(async () => (await call({ url: `/v1/executions/${id}` })).body.status === "failed");
    const retried = await call({ method: "POST", url: `/v1/executions/${id}/tasks/flaky/retry` });
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id, status: "running" });
    await eventually(async () => (await call({ url: `/v1/executions/${id}` })).body.status === "succeeded");
    const report = (await call({ url: `/v1/executions/${id}` })).body;
    expect(report.tasks.flaky).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(report.output).toEqual({ attempt: 2 });
  });

  it("answers 404 for an unknown execution or task, 409 for a task that did not fail", async () => {
    const { call, register, start, runtime } = await harness();
    await register(APPROVAL);
    const id = await start("approval");
    const unknownTask = await call({ method: "POST", url: `/v1/executions/${id}/tasks/nope/retry` });
    expect(unknownTask).toMatchObject({ status: 404, body: { error: { code: "TASK_NOT_FOUND" } } });
    const unknownExecution = await call({ method: "POST", url: "/v1/executions/nope/tasks/approve/retry" });
    expect(unknownExecution).toMatchObject({ status: 404, body: { error: { code: "EXECUTION_NOT_FOUND" } } });
    await waitingToken(runtime, id);
    const waiting = await call({ method: "POST", url: `/v1/executions/${id}/tasks/approve/retry` });
    expect(waiting).toMatchObject({ status: 409, body: { error: { code: "STATE_CONFLICT" } } });
  });
});
