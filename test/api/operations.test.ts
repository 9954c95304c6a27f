/** /healthz, /metrics, and /openapi.json: the document describes exactly the routes served. */
import { describe, expect, it } from "vitest";
import { openApiPath } from "../../src/api/index.js";
import * as responses from "../../src/api/responses.js";
import { APPROVAL, eventually, harness, waitingToken } from "./harness.js";

describe("/healthz", () => {
  it("answers 200 while the store answers, 503 when it does not", async () => {
    const { call, runtime, logs } = await harness();
    expect(await call({ url: "/healthz" })).toMatchObject({ status: 200, body: { status: "ok" } });
    runtime.store.getExecution = async () => {
      throw new Error("disk gone");
    };
    expect(await call({ url: "/healthz" })).toMatchObject({ status: 503, body: { status: "unavailable" } });
    expect(logs.join("\n")).toContain("disk gone");
  });
});

describe("/metrics", () => {
  it("counts executions by status, task durations and reaped leases, in the Prometheus format", async () => {
    const { call, register, start, runtime, worker } = await harness({ workers: 2 });
    await register("name: quick\ntasks:\n  a: { action: noop }\n  b: { action: noop, after: a }\n");
    const id = await start("quick");
    await eventually(async () => (await call({ url: `/v1/executions/${id}` })).body.status === "succeeded");
    // From here on, runs are claimed by hand: a worker that claims and then vanishes.
    await worker!.stop(0);
    await register(APPROVAL);
    const waiting = await start("approval");
    await runtime.engine.claim({ owner: "doomed", limit: 5, executionId: waiting });
    // As if the owner died long ago: its lease is reaped.
    await runtime.engine.reap(Date.now() + 3_600_000);
    const answer = await call({ url: "/metrics" });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toContain("text/plain");
    expect(answer.text).toMatch(/^weft_executions_total\{status="running"\} 2$/m);
    expect(answer.text).toMatch(/^weft_executions_total\{status="succeeded"\} 1$/m);
    expect(answer.text).toMatch(/^weft_executions_total\{status="cancelled"\} 0$/m);
    // a and b (the end run is kind "end").
    expect(answer.text).toMatch(/^weft_task_duration_seconds_count\{kind="task",outcome="succeeded"\} 2$/m);
    expect(answer.text).toMatch(/^weft_task_duration_seconds_count\{kind="task",outcome="failed"\} 1$/m);
    expect(answer.text).toMatch(/^weft_leases_reaped_total 1$/m);
  });

  it("has no series of prom-client's global registry", async () => {
    const first = await harness();
    const second = await harness();
    expect((await first.call({ url: "/metrics" })).status).toBe(200);
    expect((await second.call({ url: "/metrics" })).status).toBe(200);
  });
});

describe("/openapi.json", () => {
  it("documents every route served, and serves every route documented", async () => {
    const { app, call } = await harness();
    const served: string[] = [];
    app.addHook("onRoute", (route) => {
      for (const method of [route.method].flat()) served.push(`${method} ${openApiPath(route.url)}`);
    });
    const answer = await call({ url: "/openapi.json" });
    expect(answer.status).toBe(200);
    const document = answer.body;
    expect(document.openapi).toBe("3.1.0");
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    for (const route of [
      "POST /v1/workflows",
      "GET /v1/workflows",
      "POST /v1/executions",
      "GET /v1/executions",
      "GET /v1/executions/{id}",
      "GET /v1/executions/{id}/events",
      "GET /v1/executions/{id}/stream",
      "POST /v1/executions/{id}/cancel",
      "POST /v1/executions/{id}/tasks/{task}/retry",
      "POST /v1/callbacks/{token}/complete",
      "POST /v1/callbacks/{token}/fail",
      "POST /v1/callbacks/{token}/heartbeat",
      "GET /healthz",
      "GET /metrics",
      "GET /openapi.json",
    ]) {
      expect(documented, route).toContain(route);
    }
  });

  it("resolves every reference, and takes the workflow body from the DSL's schema", async () => {
    const { call } = await harness();
    const document = (await call({ url: "/openapi.json" })).body;
    const refs = JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      const path = ref.slice('"$ref":"#/'.length, -1).split("/");
      let node = document;
      for (const segment of path) node = node?.[segment];
      expect(node, ref).toBeTypeOf("object");
    }
    expect(document.components.schemas.Workflow.properties.tasks).toBeDefined();
    const register = document.paths["/v1/workflows"].post;
    expect(Object.keys(register.requestBody.content)).toContain("application/yaml");
    const list = document.paths["/v1/executions"].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual([
      "workflow",
      "status",
      "limit",
      "cursor",
    ]);
    expect(document.paths["/v1/executions/{id}"].get.security).toEqual([{ bearer: [] }]);
    expect(document.paths["/v1/callbacks/{token}/complete"].post.security).toEqual([]);
  });

  it("describes answers as they are", async () => {
    const { call, register, start, runtime } = await harness();
    await register(APPROVAL);
    const id = await start("approval");
    const token = await waitingToken(runtime, id);
    responses.executionReport.parse((await call({ url: `/v1/executions/${id}` })).body);
    responses.executionList.parse((await call({ url: "/v1/executions" })).body);
    responses.eventList.parse((await call({ url: `/v1/executions/${id}/events` })).body);
    responses.workflowList.parse((await call({ url: "/v1/workflows" })).body);
    responses.workflowDetail.parse((await call({ url: "/v1/workflows/approval" })).body);
    responses.heartbeatResult.parse(
      (await call({ method: "POST", url: `/v1/callbacks/${token}/heartbeat` })).body,
    );
    responses.callbackResult.parse(
      (await call({ method: "POST", url: `/v1/callbacks/${token}/complete` })).body,
    );
    responses.errorResponse.parse((await call({ url: "/v1/executions/nope" })).body);
    responses.healthResponse.parse((await call({ url: "/healthz" })).body);
  });
});
