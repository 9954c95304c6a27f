import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActionArgumentError } from "../../src/actions/action.js";
import { httpAction } from "../../src/actions/http-action.js";
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
    case "/hang":
      return; // never answers: only an abort ends the request
    default:
      res.writeHead(500);
      res.end("unexpected path");
  }
}

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => void route(req, res));
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
      [{}, /^http: "with.url" must be a string$/],
      [{ url: "/relative" }, /^http: "with.url" is "\/relative", which is not an absolute URL$/],
      [{ url: "ftp://example.com/" }, /^http: "with.url" must be an http: or https: URL/],
      [
        { url: `${base}/json`, method: "GET", body: { a: 1 } },
        /^http: "with.body" cannot be sent with method GET/,
      ],
      [{ url: `${base}/json`, method: "NOT A METHOD" }, /^http: "with.method" is not valid/],
      [{ url: `${base}/json`, headers: ["x"] }, /^http: "with.headers" must be an object of strings/],
    ];
    for (const [args, message] of cases) {
      const error = await rejection(httpAction(args, ctx));
      expect(error).toBeInstanceOf(ActionArgumentError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
