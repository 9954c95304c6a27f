/**
 * Definitions past Weft's bounds, over real HTTP on loopback: every one is answered with a 4xx
 * and a bounded report, never a 500. A 12,000-task invalid definition answered 500 (`Invalid
 * string length`) after seconds at 1.2 GB; a 9,000-character name crashed the PostgreSQL store.
 */
import { describe, expect, it } from "vitest";
import { MAX_NAME_LENGTH } from "../../src/definition/index.js";
import { harness } from "./harness.js";

/** A JSON definition of `n` tasks; with `broken`, each waits for a task that does not exist. */
function definition(n: number, broken: boolean, name = "big"): string {
  const tasks: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    tasks[`t${i}`] = {
      action: "noop",
      ...(broken ? { after: [`missing${i}`] } : i > 0 ? { after: [`t${i - 1}`] } : {}),
    };
  }
  return JSON.stringify({ name, tasks });
}

// Answers are read by path; the assertions check their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;

async function post(
  base: string,
  url: string,
  body: string,
): Promise<{ status: number; text: string; body: Body }> {
  const response = await fetch(`${base}${url}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}

describe("POST /v1/workflows past the bounds", () => {
  it("answers an invalid 12,000-task definition 400 with its first 100 errors and a count of the rest", async () => {
    const server = await harness({ bodyLimit: 16 * 2 ** 20 });
    const base = await server.listen();
    const answer = await post(base, "/v1/workflows", definition(12_000, true));
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("INVALID_DEFINITION");
    const diagnostics = answer.body.error.diagnostics as { line: number; message: string }[];
    expect(diagnostics).toHaveLength(101);
    expect(diagnostics[0]?.message).toMatch(
      /^task "t0": unknown task "missing0" in "after" \(known tasks: .*, and 11,979 more\)$/,
    );
    expect(diagnostics[100]).toEqual({
      file: "request",
      line: 0,
      col: 0,
      message: "... and 11,900 more errors",
    });
    expect(answer.body.error.message.split("\n")).toHaveLength(101);
    // The answer is the size of 100 errors, not of 12,000 lists of 12,000 names.
    expect(answer.text.length).toBeLessThan(100_000);
  });

  it("registers a valid 20,000-task definition", async () => {
    const server = await harness({ bodyLimit: 16 * 2 ** 20 });
    const base = await server.listen();
    const answer = await post(base, "/v1/workflows", definition(20_000, false));
    expect(answer).toMatchObject({ status: 201, body: { name: "big", version: 1 } });
  });

  it("answers a 9,000-character name 400, the same limit as the path parameters", async () => {
    const server = await harness();
    const base = await server.listen();
    const long = "a".repeat(9000);
    const registered = await post(base, "/v1/workflows", definition(1, false, long));
    expect(registered.status).toBe(400);
    expect(registered.body.error.message).toBe(
      `request:1:9: "name" is "${"a".repeat(60)}"..., expected a workflow name of at most ${MAX_NAME_LENGTH} characters`,
    );
    const started = await post(base, "/v1/executions", JSON.stringify({ workflow: long }));
    expect(started.status).toBe(400);
    const read = await fetch(`${base}/v1/workflows/${"a".repeat(MAX_NAME_LENGTH + 1)}`);
    expect(read.status).toBeGreaterThanOrEqual(400);
    expect(read.status).toBeLessThan(500);
    const longest = await post(base, "/v1/workflows", definition(1, false, "a".repeat(MAX_NAME_LENGTH)));
    expect(longest.status).toBe(201);
    // What can be registered can be read back by path (Fastify's own limit was 100 characters).
    const readBack = await fetch(`${base}/v1/workflows/${"a".repeat(MAX_NAME_LENGTH)}`);
    expect(readBack.status).toBe(200);
  });
});
