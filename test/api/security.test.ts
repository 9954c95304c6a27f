/** Tokens, safe bindings, body limits, CORS, and what a 500 tells a client (nothing but a request id). */
import { describe, expect, it } from "vitest";
import { isLoopbackHost, serve, startServer } from "../../src/api/index.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { APPROVAL, harness } from "./harness.js";

describe("the API token", () => {
  it("is required on management endpoints when configured; callbacks, health and the document stay open", async () => {
    const { call } = await harness({ token: "s3cret" });
    const anonymous = await call({ url: "/v1/executions" });
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: "UNAUTHORIZED" } } });
    expect(anonymous.headers["www-authenticate"]).toBe('Bearer realm="weft"');
    const wrong = await call({ url: "/v1/executions", headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect((await call({ url: "/v1/executions", headers: { authorization: "Bearer s3cret" } })).status).toBe(
      200,
    );
    for (const [method, url] of [
      ["POST", "/v1/workflows"],
      ["GET", "/v1/workflows"],
      ["POST", "/v1/executions"],
      ["GET", "/v1/executions/x/stream"],
      ["POST", "/v1/executions/x/cancel"],
      ["POST", "/v1/executions/x/tasks/t/retry"],
      ["GET", "/metrics"],
    ] as const) {
      expect((await call({ method, url, payload: {} })).status, url).toBe(401);
    }
    expect((await call({ url: "/healthz" })).status).toBe(200);
    expect((await call({ url: "/openapi.json" })).status).toBe(200);
    // Callbacks authenticate by their own token only.
    const callback = await call({ method: "POST", url: "/v1/callbacks/unknown/complete", payload: {} });
    expect(callback.status).toBe(404);
  });

  it("must exist for any host but loopback: the server refuses to start and says why", async () => {
    const runtime = await createRuntime({ store: new MemoryStore() });
    await expect(startServer({ runtime, host: "0.0.0.0", port: 0 })).rejects.toThrow(
      /Refusing to serve on 0\.0\.0\.0 without an API token.*--token TOKEN \(or set WEFT_API_TOKEN\)/,
    );
    await expect(serve({ store: "memory:", host: "0.0.0.0", port: 0 })).rejects.toThrow(/Refusing/);
    const guarded = await startServer({ runtime, host: "0.0.0.0", port: 0, token: "t" });
    await guarded.close();
    const local = await startServer({ runtime, host: "127.0.0.1", port: 0 });
    expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await local.close();
  });

  it("counts localhost, ::1 and 127.0.0.0/8 as loopback, nothing else", () => {
    for (const host of ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3", "::ffff:127.0.0.1"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com", "localhost.example.com"]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe("bodies over the limit", () => {
  it("answer 413 with a JSON error (default 1 MiB, configurable)", async () => {
    const small = await harness({ bodyLimit: 1024 });
    const big = await small.call({
      method: "POST",
      url: "/v1/executions",
      payload: { workflow: "x".repeat(2048) },
    });
    expect(big).toMatchObject({ status: 413, body: { error: { code: "BODY_TOO_LARGE" } } });
    const yaml = await small.call({
      method: "POST",
      url: "/v1/workflows",
      headers: { "content-type": "application/yaml" },
      payload: `${APPROVAL}#${"x".repeat(2048)}\n`,
    });
    expect(yaml.status).toBe(413);
    const normal = await harness();
    const overMiB = await normal.call({
      method: "POST",
      url: "/v1/callbacks/t/complete",
      payload: { output: "x".repeat(2 ** 20) },
    });
    expect(overMiB.status).toBe(413);
    const underMiB = await normal.call({
      method: "POST",
      url: "/v1/callbacks/t/complete",
      payload: { output: "x".repeat(2 ** 19) },
    });
    expect(underMiB.status).toBe(404);
  });
});

describe("deeply nested bodies", () => {
  it("answer 400 before any parser recurses into them (a stack overflow in the YAML parser once aborted the process)", async () => {
    const { call } = await harness();
    const deep = "[".repeat(1000) + "]".repeat(1000);
    const definition = `{"name":"x","tasks":{"a":{"action":"noop","with":{"v":${deep}}}}}`;
    const block = Array.from({ length: 300 }, (_, i) => `${" ".repeat(i)}k:`).join("\n");
    for (let round = 0; round < 2; round++) {
      for (const [type, payload] of [
        ["application/yaml", definition],
        ["application/json", definition],
        ["application/yaml", `name: x\ntasks:\n  a:\n    action: noop\n    with:\n${block} 1\n`],
      ]) {
        const answer = await call({
          method: "POST",
          url: "/v1/workflows",
          headers: { "content-type": type! },
          payload,
        });
        expect(answer, type).toMatchObject({
          status: 400,
          body: { error: { code: "BODY_TOO_DEEP", field: "body" } },
        });
      }
      const output = await call({
        method: "POST",
        url: "/v1/callbacks/t/complete",
        headers: { "content-type": "application/json" },
        payload: `{"output":${deep}}`,
      });
      expect(output.status).toBe(400);
    }
    // Nesting of a sensible depth is fine.
    const nested = "[".repeat(50) + "]".repeat(50);
    const fine = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: { "content-type": "application/yaml" },
      payload: `{"name":"x","tasks":{"a":{"action":"noop","with":{"v":${nested}}}}}`,
    });
    expect(fine.status).toBe(201);
  });
});

describe("CORS", () => {
  it("is off unless configured", async () => {
    const { call } = await harness();
    const answer = await call({ url: "/healthz", headers: { origin: "https://ui.example" } });
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    const preflight = await call({
      method: "OPTIONS",
      url: "/v1/executions",
      headers: { origin: "https://ui.example", "access-control-request-method": "POST" },
    });
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("allows the configured origins only", async () => {
    const { call } = await harness({ cors: ["https://ui.example"] });
    const allowed = await call({ url: "/healthz", headers: { origin: "https://ui.example" } });
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://ui.example");
    const other = await call({ url: "/healthz", headers: { origin: "https://evil.example" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    const preflight = await call({
      method: "OPTIONS",
      url: "/v1/executions",
      headers: { origin: "https://ui.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(String(preflight.headers["access-control-allow-headers"])).toContain("authorization");
  });
});

describe("internal errors", () => {
  it("answer 500 'internal error' with a request id; the log has the real error, the client nothing of it", async () => {
    const { call, runtime, logs } = await harness();
    runtime.store.getExecution = async () => {
      throw new Error("connection to /var/secret/db.sqlite lost");
    };
    const answer = await call({ url: "/v1/executions/some-id" });
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe("INTERNAL");
    expect(answer.body.error.message).toBe(`internal error (request id ${answer.body.error.requestId})`);
    expect(answer.headers["x-request-id"]).toBe(answer.body.error.requestId);
    expect(answer.text).not.toContain("secret");
    expect(answer.text).not.toMatch(/\bat \S+:\d+/);
    expect(logs.join("\n")).toContain(answer.body.error.requestId);
    expect(logs.join("\n")).toContain("connection to /var/secret/db.sqlite lost");
  });

  it("unknown routes answer a JSON 404", async () => {
    const { call } = await harness();
    const answer = await call({ method: "DELETE", url: "/v1/executions/x" });
    expect(answer).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
  });
});
