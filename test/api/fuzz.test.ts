/**
 * Property: whatever a client sends (random and malformed JSON, random content types, random path
 * parameters and query strings, to every endpoint), no answer is a 5xx, every answer is JSON (or
 * the documented stream and metrics formats), and the server stays up. Over real loopback HTTP.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { APPROVAL, harness, waitingToken } from "./harness.js";

const ROUTES = [
  ["POST", "/v1/workflows"],
  ["GET", "/v1/workflows"],
  ["GET", "/v1/workflows/{name}"],
  ["POST", "/v1/executions"],
  ["GET", "/v1/executions"],
  ["GET", "/v1/executions/{id}"],
  ["GET", "/v1/executions/{id}/events"],
  ["GET", "/v1/executions/{id}/stream"],
  ["POST", "/v1/executions/{id}/cancel"],
  ["POST", "/v1/executions/{id}/tasks/{task}/retry"],
  ["POST", "/v1/callbacks/{token}/complete"],
  ["POST", "/v1/callbacks/{token}/fail"],
  ["POST", "/v1/callbacks/{token}/heartbeat"],
  ["GET", "/healthz"],
  ["GET", "/metrics"],
  ["GET", "/openapi.json"],
] as const;

/** JSON, JSON cut short, JSON-ish text, and values shaped like the real bodies but wrong. */
const body = fc.oneof(
  fc.json(),
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom("", "{", "}", "[", "null", '{"__proto__": {"x": 1}}', '{"constructor": {"prototype": {}}}'),
  // Deep nesting: parsers that recurse must never see it.
  fc
    .tuple(fc.integer({ min: 50, max: 3000 }), fc.constantFrom("[", '{"a":'), fc.boolean())
    .map(
      ([depth, open, closed]) =>
        open.repeat(depth) + (closed ? "1" + (open === "[" ? "]" : "}").repeat(depth) : ""),
    ),
  fc
    .record(
      {
        workflow: fc.oneof(fc.string(), fc.constant("approval"), fc.integer()),
        input: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())),
        undo: fc.oneof(fc.boolean(), fc.jsonValue()),
        output: fc.jsonValue(),
        error: fc.oneof(fc.string(), fc.record({ message: fc.jsonValue(), retryable: fc.jsonValue() })),
        extend: fc.oneof(fc.string(), fc.double(), fc.constantFrom("10m", "1d", "99999999999d")),
        name: fc.string(),
        tasks: fc.dictionary(fc.string(), fc.record({ action: fc.string() })),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
);

const contentType = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "application/yaml",
    "text/yaml",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
  ),
  fc.stringMatching(/^[a-z]{1,10}\/[a-z+.-]{1,15}$/),
);

describe("the API under random requests", () => {
  it("never answers 5xx and stays up", async () => {
    const h = await harness();
    const url = await h.listen();
    await h.register(APPROVAL);
    const running = await h.start("approval");
    const token = await waitingToken(h.runtime, running);
    const ended = await h.start("approval");
    await h.call({ method: "POST", url: `/v1/executions/${ended}/cancel` });
    const param = fc.oneof(
      fc.string({ minLength: 1, maxLength: 80 }),
      fc.string({ unit: "binary", minLength: 1, maxLength: 30 }),
      fc.constantFrom("approval", running, token, "approve", "..", "%", "%00", "a/b"),
    );
    const query = fc.dictionary(
      fc.constantFrom("limit", "cursor", "status", "workflow", "after", "version", "x"),
      fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String)),
      { maxKeys: 3 },
    );

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.constantFrom("GET", "POST", "PUT", "DELETE", null),
        param,
        query,
        fc.option(contentType, { nil: undefined }),
        body,
        async ([routeMethod, template], otherMethod, value, search, type, payload) => {
          const method = otherMethod ?? routeMethod;
          // A stream of a running execution never ends by itself: stream only the ended one.
          const id = template.endsWith("/stream") ? (value === running ? ended : value) : value;
          const path = template.replace(/\{[a-z]+\}/g, () => encodeURIComponent(id));
          const qs = new URLSearchParams(search).toString();
          const headers: Record<string, string> = type ? { "content-type": type } : {};
          const response = await fetch(`${url}${path}${qs ? `?${qs}` : ""}`, {
            method,
            headers,
            body: method === "GET" ? undefined : payload,
          });
          const text = await response.text();
          expect(response.status, `${method} ${path}?${qs} [${type}] ${payload}: ${text}`).toBeLessThan(500);
          const kind = response.headers.get("content-type") ?? "";
          if (!kind.startsWith("text/event-stream") && !kind.startsWith("text/plain")) {
            expect(() => JSON.parse(text), `${method} ${path}: ${text}`).not.toThrow();
          }
          expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(h.logs.filter((line) => line.includes("failed (request"))).toEqual([]);
  }, 120_000);
});
