/** Callbacks: complete, fail and heartbeat by token; 200 again for the same body, 409 for another, 404 for unknown or expired. */
import { describe, expect, it } from "vitest";
import { APPROVAL, harness, waitingToken } from "./harness.js";

async function waitingDelegate(yaml = APPROVAL) {
  const h = await harness();
  await h.register(yaml);
  const id = await h.start(yaml.match(/^name: (\S+)/)![1]!);
  return { ...h, id, token: await waitingToken(h.runtime, id) };
}

describe("POST /v1/callbacks/{token}/complete", () => {
  it("completes the delegate; the same body again answers 200, another 409", async () => {
    const { call, id, token } = await waitingDelegate();
    const url = `/v1/callbacks/${token}/complete`;
    const first = await call({ method: "POST", url, payload: { output: { by: "ana" } } });
    expect(first).toMatchObject({
      status: 200,
      body: { status: "applied", executionId: id, task: "approve" },
    });
    const report = (await call({ url: `/v1/executions/${id}` })).body;
    expect(report.tasks.approve).toMatchObject({ status: "succeeded", output: { by: "ana" } });
    expect(report.tasks.announce.status).toBe("ready");
    const again = await call({ method: "POST", url, payload: { output: { by: "ana" } } });
    expect(again).toMatchObject({ status: 200, body: { status: "duplicate", task: "approve" } });
    const other = await call({ method: "POST", url, payload: { output: { by: "bob" } } });
    expect(other).toMatchObject({ status: 409, body: { error: { code: "CALLBACK_CONFLICT" } } });
    const failAfter = await call({
      method: "POST",
      url: `/v1/callbacks/${token}/fail`,
      payload: { error: "no" },
    });
    expect(failAfter.status).toBe(409);
  });

  it("takes an empty body as output null", async () => {
    const { call, id, token } = await waitingDelegate();
    expect((await call({ method: "POST", url: `/v1/callbacks/${token}/complete` })).status).toBe(200);
    expect((await call({ url: `/v1/executions/${id}` })).body.tasks.approve).toMatchObject({ output: null });
  });

  it("answers 404 for an unknown token and for an expired one, without saying which", async () => {
    const { call, runtime, id, token } = await waitingDelegate(
      APPROVAL.replace("timeout: 1h", "timeout: 1ms"),
    );
    const unknown = await call({ method: "POST", url: "/v1/callbacks/unknown-token/complete", payload: {} });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "CALLBACK_NOT_FOUND" } } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await runtime.engine.reap();
    expect((await call({ url: `/v1/executions/${id}` })).body.tasks.approve.status).toBe("failed");
    const expired = await call({
      method: "POST",
      url: `/v1/callbacks/${token}/complete`,
      payload: { output: 1 },
    });
    expect(expired.status).toBe(404);
    expect(expired.body).toEqual(unknown.body);
    const heartbeat = await call({ method: "POST", url: `/v1/callbacks/${token}/heartbeat` });
    expect(heartbeat.body).toEqual(unknown.body);
  });

  it("answers 400 naming the field", async () => {
    const { call, token } = await waitingDelegate();
    const extra = await call({
      method: "POST",
      url: `/v1/callbacks/${token}/complete`,
      payload: { outptu: 1 },
    });
    expect(extra).toMatchObject({ status: 400, body: { error: { field: "body.outptu" } } });
    const notObject = await call({ method: "POST", url: `/v1/callbacks/${token}/complete`, payload: [1, 2] });
    expect(notObject).toMatchObject({ status: 400, body: { error: { field: "body" } } });
  });
});

describe("POST /v1/callbacks/{token}/fail", () => {
  it("fails the delegate with a message, or with { message, retryable }", async () => {
    const { call, id, token } = await waitingDelegate();
    const url = `/v1/callbacks/${token}/fail`;
    const failed = await call({ method: "POST", url, payload: { error: "rejected" } });
    expect(failed).toMatchObject({ status: 200, body: { status: "applied", task: "approve" } });
    const report = (await call({ url: `/v1/executions/${id}` })).body;
    expect(report.status).toBe("failed");
    expect(report.tasks.approve.error).toMatchObject({
      type: "DelegateFailed",
      message: "rejected",
      retryable: false,
    });
    expect((await call({ method: "POST", url, payload: { error: { message: "rejected" } } })).status).toBe(
      200,
    );
    expect((await call({ method: "POST", url, payload: { error: "something else" } })).status).toBe(409);
  });

  it("lets a retryable failure retry: the old token then answers 404", async () => {
    const yaml = APPROVAL.replace("timeout: 1h", "timeout: 1h\n    retry: { attempts: 2, backoff: 1ms }");
    const { call, id, token } = await waitingDelegate(yaml);
    const url = `/v1/callbacks/${token}/fail`;
    const failed = await call({
      method: "POST",
      url,
      payload: { error: { message: "busy", retryable: true } },
    });
    expect(failed.status).toBe(200);
    expect((await call({ url: `/v1/executions/${id}` })).body.tasks.approve.status).toBe("retrying");
    expect((await call({ method: "POST", url: `/v1/callbacks/${token}/complete`, payload: {} })).status).toBe(
      404,
    );
  });

  it("answers 400 without an error, or with a bad one", async () => {
    const { call, token } = await waitingDelegate();
    const url = `/v1/callbacks/${token}/fail`;
    for (const payload of [
      {},
      { error: "" },
      { error: 42 },
      { error: { retryable: true } },
      { error: { message: "x", extra: 1 } },
    ]) {
      const answer = await call({ method: "POST", url, payload });
      expect(answer.status, JSON.stringify(payload)).toBe(400);
      expect(answer.body.error.field, JSON.stringify(payload)).toMatch(/^body\.error/);
    }
  });
});

describe("POST /v1/callbacks/{token}/heartbeat", () => {
  it("pushes the deadline out by extend, or by the task's timeout", async () => {
    const { call, runtime, id, token } = await waitingDelegate();
    const url = `/v1/callbacks/${token}/heartbeat`;
    const before = Date.now();
    const extended = await call({ method: "POST", url, payload: { extend: "10m" } });
    expect(extended).toMatchObject({ status: 200, body: { executionId: id, task: "approve" } });
    const deadline = Date.parse(extended.body.deadline);
    expect(deadline).toBeGreaterThanOrEqual(before + 600_000);
    expect(deadline).toBeLessThan(before + 660_000);
    const runs = await runtime.store.listRuns(id);
    expect(runs.find((run) => run.task === "approve")?.deadline).toBe(deadline);
    const byTimeout = await call({ method: "POST", url });
    expect(Date.parse(byTimeout.body.deadline)).toBeGreaterThanOrEqual(before + 3_600_000);
    expect((await call({ method: "POST", url, payload: { extend: 1500 } })).status).toBe(200);
  });

  it("answers 400 for a bad extend", async () => {
    const { call, token } = await waitingDelegate();
    for (const extend of ["soon", "-1s", -5, "9999d", true]) {
      const answer = await call({
        method: "POST",
        url: `/v1/callbacks/${token}/heartbeat`,
        payload: { extend },
      });
      expect(answer.status, String(extend)).toBe(400);
      expect(answer.body.error.field).toBe("body.extend");
    }
  });
});
