/** Tokens, safe bindings, body limits, CORS, and what a 500 tells a client (nothing but a request id). */
import { once } from "node:events";
import { connect } from "node:net";
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

/** The one error shape: `{ error: { code, message } }` with a code in capitals and a sentence. */
function expectErrorShape(body: unknown, status: number, code: string): void {
  expect(body, `status ${status}`).toEqual({ error: { code, message: expect.any(String) } });
  expect((body as { error: { message: string } }).error.message, code).toMatch(/^[A-Z].*\.$/);
}

/** Sends `text` on a raw socket and answers everything the server wrote before it closed. */
async function rawExchange(url: string, text: string): Promise<{ status: number; body: unknown }> {
  const { port } = new URL(url);
  const socket = connect(Number(port), "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.write(text);
  await once(socket, "close");
  const answer = Buffer.concat(chunks).toString("utf8");
  const [head, ...rest] = answer.split("\r\n\r\n");
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? "")?.[1]),
    body: JSON.parse(rest.join("\r\n\r\n")),
  };
}

describe("the Host header without a token (DNS rebinding)", () => {
  it("answers loopback names and the public URL's host, and refuses any other with a JSON 421", async () => {
    const { call } = await harness({ publicUrl: "https://weft.example.com/base" });
    for (const host of [
      "localhost",
      "localhost:8080",
      "127.0.0.1:1",
      "127.8.9.10",
      "[::1]:8080",
      "weft.example.com",
    ]) {
      expect((await call({ url: "/v1/executions", headers: { host } })).status, host).toBe(200);
    }
    for (const host of [
      "evil.example",
      "evil.example:8080",
      "localhost.evil.example",
      "weft.example.com.evil",
    ]) {
      const answer = await call({ url: "/v1/executions", headers: { host } });
      expect(answer.status, host).toBe(421);
      expect(answer.body.error.code).toBe("HOST_NOT_ALLOWED");
      expect(answer.body.error.message).toContain(`Host "${host}"`);
      expect(answer.body.error.message).toContain("--token");
    }
    // Callbacks too: a page in a local browser must not complete delegates by guessing at nothing.
    expect(
      (
        await call({
          method: "POST",
          url: "/v1/callbacks/t/complete",
          headers: { host: "evil.example" },
          payload: {},
        })
      ).status,
    ).toBe(421);
  });

  it("is not checked when a token guards the server", async () => {
    const { call } = await harness({ token: "s3cret" });
    const answer = await call({
      url: "/v1/executions",
      headers: { host: "weft.internal:8080", authorization: "Bearer s3cret" },
    });
    expect(answer.status).toBe(200);
  });
});

describe("slow clients", () => {
  it("a body trickled in byte by byte is cut off with a JSON 408 once the request timeout passes", async () => {
    const { listen } = await harness({ timeouts: { requestMs: 300, headersMs: 300, checkEveryMs: 50 } });
    const url = await listen();
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.write(
      "POST /v1/callbacks/t/complete HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n",
    );
    let sent = 0;
    // One byte every 20 ms would take 20 s to finish; the server must not wait for it.
    const trickle = setInterval(() => {
      if (socket.writable && sent < 1000) {
        socket.write(" ");
        sent++;
      }
    }, 20);
    try {
      await once(socket, "close");
    } finally {
      clearInterval(trickle);
    }
    expect(sent).toBeLessThan(1000);
    const answer = Buffer.concat(chunks).toString("utf8");
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expectErrorShape(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)), 408, "REQUEST_TIMEOUT");
  });

  it("uses bounded defaults: 30 s for a request, 10 s for its headers, 5 s of keep-alive", async () => {
    const { app } = await harness();
    expect(app.server.requestTimeout).toBe(30_000);
    expect(app.server.headersTimeout).toBe(10_000);
    expect(app.server.keepAliveTimeout).toBe(5_000);
  });
});

describe("answers Node and Fastify give on their own", () => {
  it("have the project's error shape: 400 malformed URL, 414, 415, 404, 413", async () => {
    const { call } = await harness({ bodyLimit: 64 });
    const badUrl = await call({ url: "/v1/executions/%zz" });
    expect(badUrl.status).toBe(400);
    expectErrorShape(badUrl.body, 400, "INVALID_URL");
    expect(badUrl.body.error.code).toBe("INVALID_URL");
    const long = await call({ url: `/v1/executions/${"x".repeat(500)}` });
    expect(long.status).toBe(414);
    expectErrorShape(long.body, 414, "URI_TOO_LONG");
    expect(long.body.error.message.length).toBeLessThan(400);
    const media = await call({
      method: "POST",
      url: "/v1/executions",
      headers: { "content-type": "text/xml" },
      payload: "<x/>",
    });
    expect(media.status).toBe(415);
    expectErrorShape(media.body, 415, "UNSUPPORTED_MEDIA_TYPE");
    const missing = await call({ url: "/nowhere" });
    expectErrorShape(missing.body, 404, "NOT_FOUND");
    const big = await call({ method: "POST", url: "/v1/executions", payload: { workflow: "x".repeat(100) } });
    expect(big.status).toBe(413);
    expectErrorShape(big.body, 413, "BODY_TOO_LARGE");
  });

  it("have it on a real socket too: 431 headers too large, 400 unparsable HTTP", async () => {
    const { listen } = await harness();
    const url = await listen();
    const huge = await rawExchange(
      url,
      `GET /healthz HTTP/1.1\r\nHost: localhost\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    expect(huge.status).toBe(431);
    expectErrorShape(huge.body, 431, "HEADERS_TOO_LARGE");
    const longUrl = await rawExchange(
      url,
      `GET /v1/${"a".repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    );
    expect(longUrl.status).toBe(431);
    expectErrorShape(longUrl.body, 431, "HEADERS_TOO_LARGE");
    const garbage = await rawExchange(url, "NOT HTTP AT ALL\r\n\r\n");
    expect(garbage.status).toBe(400);
    expectErrorShape(garbage.body, 400, "BAD_REQUEST");
  });
});
