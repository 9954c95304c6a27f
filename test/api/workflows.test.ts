/** POST /v1/workflows (JSON and YAML), GET /v1/workflows, GET /v1/workflows/{name}. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatDiagnostic, validateWorkflowSource } from "../../src/definition/index.js";
import { APPROVAL, harness } from "./harness.js";

const INVALID = fileURLToPath(new URL("../fixtures/invalid/", import.meta.url));
const yaml = { "content-type": "application/yaml" };

describe("POST /v1/workflows", () => {
  it("registers YAML and JSON definitions: 201 { name, version }, the next version on change", async () => {
    const { call } = await harness();
    const first = await call({ method: "POST", url: "/v1/workflows", headers: yaml, payload: APPROVAL });
    expect(first).toMatchObject({ status: 201, body: { name: "approval", version: 1 } });
    // The same definition again is the same version.
    const again = await call({ method: "POST", url: "/v1/workflows", headers: yaml, payload: APPROVAL });
    expect(again.body).toEqual({ name: "approval", version: 1 });
    const json = await call({
      method: "POST",
      url: "/v1/workflows",
      payload: { name: "approval", tasks: { approve: { action: "delegate" } } },
    });
    expect(json).toMatchObject({ status: 201, body: { name: "approval", version: 2 } });
  });

  it("answers 400 with weft validate's messages, positioned in the request's own text", async () => {
    const { call } = await harness();
    for (const file of ["many-errors.yaml", "cycle.yaml", "yaml-syntax.yaml", "unknown-field.yaml"]) {
      const text = readFileSync(`${INVALID}${file}`, "utf8");
      const answer = await call({ method: "POST", url: "/v1/workflows", headers: yaml, payload: text });
      const expected = validateWorkflowSource(text, "request");
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("INVALID_DEFINITION");
      expect(answer.body.error.message).toBe(expected.map(formatDiagnostic).join("\n"));
      expect(answer.body.error.diagnostics).toEqual(expected);
    }
    const json = '{\n  "name": "x",\n  "tasks": { "a": { "action": "noop", "retry": { "attempts": 0 } } }\n}';
    const answer = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: { "content-type": "application/json" },
      payload: json,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/^request:3:\d+: task "a": "retry.attempts" is 0/);
  });

  it("answers 400 for malformed JSON or no body, and 415 for other content types", async () => {
    const { call } = await harness();
    const broken = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: { "content-type": "application/json" },
      payload: '{"name": ',
    });
    expect(broken).toMatchObject({ status: 400, body: { error: { code: "INVALID_JSON", field: "body" } } });
    const empty = await call({ method: "POST", url: "/v1/workflows" });
    expect(empty).toMatchObject({ status: 400, body: { error: { code: "INVALID_REQUEST", field: "body" } } });
    const text = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: { "content-type": "text/plain" },
      payload: APPROVAL,
    });
    expect(text).toMatchObject({ status: 415, body: { error: { code: "UNSUPPORTED_MEDIA_TYPE" } } });
    const xml = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: { "content-type": "application/xml" },
      payload: "<x/>",
    });
    expect(xml).toMatchObject({ status: 415, body: { error: { code: "UNSUPPORTED_MEDIA_TYPE" } } });
  });

  it("answers 409 when another definition holds the version", async () => {
    const { call } = await harness();
    const v1 = "name: pinned\nversion: 1\ntasks:\n  a: { action: noop }\n";
    expect((await call({ method: "POST", url: "/v1/workflows", headers: yaml, payload: v1 })).status).toBe(
      201,
    );
    const other = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: yaml,
      payload: v1.replace("noop", "echo"),
    });
    expect(other).toMatchObject({ status: 409, body: { error: { code: "WORKFLOW_VERSION_CONFLICT" } } });
  });
});

describe("GET /v1/workflows", () => {
  it("lists the latest version of each, and answers one with its spec", async () => {
    const { call, register } = await harness();
    expect((await call({ url: "/v1/workflows" })).body).toEqual({ workflows: [] });
    await register(APPROVAL);
    await register("name: other\ndescription: Another one.\ntasks:\n  a: { action: noop }\n");
    await register("name: other\ndescription: Another one.\ntasks:\n  b: { action: noop }\n");
    const list = await call({ url: "/v1/workflows" });
    expect(list.status).toBe(200);
    const byName = Object.fromEntries(list.body.workflows.map((w: { name: string }) => [w.name, w]));
    expect(byName.approval).toMatchObject({ version: 1, tasks: 2 });
    expect(byName.other).toMatchObject({ version: 2, tasks: 1, description: "Another one." });
    const one = await call({ url: "/v1/workflows/other?version=1" });
    expect(one.status).toBe(200);
    expect(Object.keys(one.body.spec.tasks)).toEqual(["a"]);
    expect((await call({ url: "/v1/workflows/other" })).body.version).toBe(2);
    const missing = await call({ url: "/v1/workflows/nope" });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: "WORKFLOW_NOT_FOUND" } } });
    const badVersion = await call({ url: "/v1/workflows/other?version=zero" });
    expect(badVersion).toMatchObject({ status: 400, body: { error: { field: "query.version" } } });
  });
});
