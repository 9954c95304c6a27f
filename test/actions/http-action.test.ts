import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActionArgumentError } from "../../src/actions/action.js";
import { compileEgressPolicy, DEFAULT_EGRESS_POLICY } from "../../src/actions/egress-policy.js";
import { httpAction } from "../../src/actions/http-action.js";
import { parseWorkflow } from "../../src/definition/index.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { TaskFailure, toTaskError } from "../../src/shared/errors.js";
import { makeContext, rejection } from "./context.js";

async function readBody(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += String(chunk);
  return text;
}

/** A real server on loopback; each path is one behaviour. */
async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  switch (url.pathname) {
    case "/json":
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "X-Trace": "abc" });
      res.end(JSON.stringify({ ok: true, items: [1, 2] }));
      return;
    case "/text":
      res.writeHead(200, { "content-type": "text/plain" });
      res.end('{"looks":"like json"}');
      return;
    case "/echo": {
      const body = await readBody(req);
      res.writeHead(201, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          method: req.method,
          contentType: req.headers["content-type"] ?? null,
          auth: req.headers.authorization ?? null,
          body,
        }),
      );
      return;
    }
    case "/missing":
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("no order 7 here");
      return;
    case "/busy":
      res.writeHead(503);
      res.end();
      return;
    case "/limited":
      res.writeHead(429);
      res.end();
      return;
    case "/to-metadata":
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" });
      res.end();
      return;
    case "/moved":
      res.writeHead(303, { location: "/echo" });
      res.end();
      return;
    case "/hang":
      return; // never answers: only an abort ends the request
    default:
      res.writeHead(500);
      res.end("unexpected path");
  }
}

let server: Server;
let base: string;
/** Connections the server accepted: a refused request must not have opened one. */
let connections = 0;
beforeAll(async () => {
  server = createServer((req, res) => void route(req, res));
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("http", () => {
  it("GETs JSON: parsed body, lower-case headers", async () => {
    const { ctx } = makeContext();
    const output = (await httpAction({ url: `${base}/json` }, ctx)) as Record<string, unknown>;
    expect(output.status).toBe(200);
    expect(output.body).toEqual({ ok: true, items: [1, 2] });
    expect(output.headers).toMatchObject({
      "x-trace": "abc",
      "content-type": "application/json; charset=utf-8",
    });
  });

  it("keeps a non-JSON body as text", async () => {
    const { ctx } = makeContext();
    expect(await httpAction({ url: `${base}/text` }, ctx)).toMatchObject({ body: '{"looks":"like json"}' });
  });

  it("POSTs a JSON body by default, and sends a string body as is", async () => {
    const { ctx } = makeContext();
    const json = await httpAction(
      { url: `${base}/echo`, body: { id: 7 }, headers: { Authorization: "t" } },
      ctx,
    );
    expect(json).toMatchObject({
      status: 201,
      body: { method: "POST", contentType: "application/json", auth: "t", body: '{"id":7}' },
    });
    const text = await httpAction(
      { url: `${base}/echo`, method: "put", body: "a=1", headers: { "content-type": "text/plain" } },
      ctx,
    );
    expect(text).toMatchObject({ body: { method: "PUT", contentType: "text/plain", body: "a=1" } });
  });

  it("fails for good on a 404, quoting the response", async () => {
    const { ctx } = makeContext();
    const error = await rejection(httpAction({ url: `${base}/missing?token=secret` }, ctx));
    expect(error).toBeInstanceOf(TaskFailure);
    const stored = toTaskError(error);
    expect(stored).toMatchObject({ type: "HttpError", retryable: false });
    expect(stored.message).toBe(`GET ${base}/missing answered 404 Not Found: no order 7 here`);
  });

  it("fails retryably on a 503 and on a 429", async () => {
    const { ctx } = makeContext();
    const busy = toTaskError(await rejection(httpAction({ url: `${base}/busy` }, ctx)));
    expect(busy).toEqual({
      type: "HttpError",
      message: `GET ${base}/busy answered 503 Service Unavailable`,
      retryable: true,
    });
    const limited = toTaskError(await rejection(httpAction({ url: `${base}/limited` }, ctx)));
    expect(limited).toMatchObject({ type: "HttpError", retryable: true });
  });

  it("fails retryably when the connection is refused", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const { ctx } = makeContext();
    const error = toTaskError(await rejection(httpAction({ url: `http://127.0.0.1:${port}/` }, ctx)));
    expect(error.type).toBe("HttpError");
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/ failed: .*ECONNREFUSED/);
  });

  it("rejects with the signal's reason when it aborts", async () => {
    const { ctx, controller } = makeContext();
    const reason = new Error("timed out");
    setTimeout(() => controller.abort(reason), 50);
    expect(await rejection(httpAction({ url: `${base}/hang` }, ctx))).toBe(reason);
  });

  it("rejects bad arguments before sending anything", async () => {
    const { ctx } = makeContext();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /^http: "with.url" must be an http: or https: URL$/],
      [{ url: "/relative" }, /^http: "with.url" must be an absolute http: or https: URL, got "\/relative"$/],
      [{ url: "ftp://example.com/" }, /^http: "with.url" must be an absolute http: or https: URL, got "ftp:/],
      [
        { url: `${base}/json`, method: "GET", body: { a: 1 } },
        /^http: "with.body" cannot be sent with method GET/,
      ],
      [{ url: `${base}/json`, method: "NOT A METHOD" }, /^http: "with.method" must be an HTTP method/],
      [
        { url: `${base}/json`, headers: ["x"] },
        /^http: "with.headers" must be a mapping of names to strings/,
      ],
      [
        { url: `${base}/json`, headers: { a: [1] } },
        /^http: "with.headers.a" must be a string, number or boolean/,
      ],
    ];
    for (const [args, message] of cases) {
      const error = await rejection(httpAction(args, ctx));
      expect(error).toBeInstanceOf(ActionArgumentError);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe("http egress policy", () => {
  it("refuses link-local and metadata addresses by default, for good, naming the address and the flag", async () => {
    const { ctx } = makeContext();
    for (const [url, address] of [
      ["http://169.254.169.254/latest/meta-data/", "169.254.169.254"],
      ["http://[fd00:ec2::254]/", "fd00:ec2::254"],
      ["http://[fe80::1]:8080/", "fe80::1"],
      ["http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe"],
      ["http://0xa9fea9fe/", "169.254.169.254"], // the URL parser's spelling of the same address
    ] as const) {
      const error = toTaskError(await rejection(httpAction({ url }, ctx)));
      expect(error, url).toMatchObject({ type: "EgressRefused", retryable: false });
      expect(error.message, url).toContain(
        `is refused: ${address} is a link-local or cloud metadata address: list ${address} in --allow-hosts (or WEFT_ALLOW_HOSTS) on the worker to allow it.`,
      );
    }
    const named = toTaskError(
      await rejection(httpAction({ url: "http://metadata.google.internal/computeMetadata/v1/" }, ctx)),
    );
    expect(named).toMatchObject({ type: "EgressRefused", retryable: false });
    expect(named.message).toContain("metadata.google.internal is a cloud metadata service");
  });

  it("checks every redirect hop: a loopback server cannot bounce a task to the metadata address", async () => {
    const { ctx } = makeContext();
    const error = toTaskError(await rejection(httpAction({ url: `${base}/to-metadata` }, ctx)));
    expect(error).toMatchObject({ type: "EgressRefused", retryable: false });
    expect(error.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/to-metadata is refused: 169\.254\.169\.254 /,
    );
    // Redirects to allowed places are followed as fetch follows them (303: the POST becomes a GET).
    const moved = await httpAction({ url: `${base}/moved`, body: { a: 1 } }, ctx);
    expect(moved).toMatchObject({ status: 201, body: { method: "GET", contentType: null, body: "" } });
  });

  it("with --allow-hosts, reaches only the listed hosts, checking the address a name resolves to", async () => {
    const port = new URL(base).port;
    const only10 = makeContext({ egress: compileEgressPolicy("10.0.0.0/8") }).ctx;
    const before = connections;
    // localhost is not listed, and neither is what it resolves to: refused after the lookup, before connecting.
    const error = toTaskError(await rejection(httpAction({ url: `http://localhost:${port}/json` }, only10)));
    expect(error).toMatchObject({ type: "EgressRefused", retryable: false });
    expect(error.message).toMatch(
      /localhost \((127\.0\.0\.1|::1)\) is not in --allow-hosts \(or WEFT_ALLOW_HOSTS\): add localhost/,
    );
    expect(connections).toBe(before);
    // The resolved address, when listed, lets the name through.
    const byAddress = makeContext({ egress: compileEgressPolicy("127.0.0.1") }).ctx;
    expect(await httpAction({ url: `http://localhost:${port}/json` }, byAddress)).toMatchObject({
      status: 200,
    });
    const byName = makeContext({ egress: compileEgressPolicy(["localhost"]) }).ctx;
    expect(await httpAction({ url: `http://localhost:${port}/json` }, byName)).toMatchObject({ status: 200 });
  });

  it("compiles entries: names, wildcards, addresses, ranges; link-local only by a narrow explicit entry", () => {
    const policy = compileEgressPolicy("api.example.com, *.corp.example, 10.0.0.0/8, 0.0.0.0/0");
    expect(policy.refuseAddress("api.example.com", "93.184.216.34")).toBeNull();
    expect(policy.refuseAddress("git.corp.example", "10.1.2.3")).toBeNull();
    expect(policy.refuseAddress("8.8.8.8", "8.8.8.8")).toBeNull(); // 0.0.0.0/0
    // 0.0.0.0/0 is not a way of naming the metadata address.
    expect(policy.refuseAddress("169.254.169.254", "169.254.169.254")).toMatch(/link-local/);
    expect(policy.refuseAddress("api.example.com", "169.254.169.254")).toMatch(/link-local/);
    const metadata = compileEgressPolicy("*,169.254.169.254,metadata.google.internal");
    expect(metadata.refuseAddress("169.254.169.254", "169.254.169.254")).toBeNull();
    expect(metadata.refuseAddress("169.254.1.1", "169.254.1.1")).toMatch(/link-local/);
    expect(metadata.refuseName("metadata.google.internal")).toBeNull();
    expect(DEFAULT_EGRESS_POLICY.refuseAddress("db.internal", "10.0.0.5")).toBeNull();
    expect(DEFAULT_EGRESS_POLICY.refuseAddress("localhost", "::1")).toBeNull();
    const narrow = compileEgressPolicy("example.com");
    expect(narrow.refuseAddress("other.example", "93.184.216.34")).toMatch(/is not in --allow-hosts/);
    expect(() => compileEgressPolicy("http://example.com/")).toThrow(
      /--allow-hosts has "http:\/\/example\.com\/", which is no host name, address or range/,
    );
    expect(() => compileEgressPolicy("10.0.0.0/33")).toThrow(/--allow-hosts has "10\.0\.0\.0\/33"/);
  });
});

describe("a delegate's with.notify under the egress policy", () => {
  it("fails the task for good when the notify URL is refused: no retry hands out another token", async () => {
    const runtime = await createRuntime({ store: "memory:" });
    try {
      const spec = parseWorkflow(
        `name: leak
tasks:
  approve:
    action: delegate
    retry: { attempts: 3, backoff: 10ms }
    with:
      notify: { url: "http://169.254.169.254/latest/meta-data/iam/", method: POST, body: { t: "\${{ callback.token }}" } }
`,
        "leak.yaml",
      );
      const execution = await runtime.run(spec);
      expect(execution.status).toBe("failed");
      const [approve] = (await runtime.store.listRuns(execution.id)).filter((run) => run.task === "approve");
      expect(approve).toMatchObject({ status: "failed", attempt: 1 });
      expect(approve!.error).toMatchObject({ type: "EgressRefused", retryable: false });
      expect(approve!.error!.message).toContain("169.254.169.254 is a link-local or cloud metadata address");
    } finally {
      await runtime.close();
    }
  });
});
