/**
 * Living executions over HTTP: POST /v1/executions/{id}/update, /rollback and /undo record a new
 * traversal (202, the report); bad input changes nothing (400 with line numbers, 404, 403); a
 * callback for a delegate of a replaced traversal answers 410.
 */
import { describe, expect, it } from "vitest";
import { APPROVAL, eventually, harness, waitingToken } from "./harness.js";

const V1 = `name: chain
tasks:
  first: { action: echo, with: { message: one } }
  second: { action: echo, with: { message: "\${{ tasks.first.output }}" } }
`;
const V2 = V1.replace("message: one", "message: two");

async function ended(h: Awaited<ReturnType<typeof harness>>, id: string, status = "succeeded") {
  await eventually(async () => (await h.call({ url: `/v1/executions/${id}` })).body.status === status);
  return (await h.call({ url: `/v1/executions/${id}` })).body;
}

describe("POST /v1/executions/{id}/update", () => {
  it("converges an ended execution on the new definition, reusing what did not change", async () => {
    const h = await harness({ workers: 2 });
    await h.register(V1);
    const id = await h.start("chain");
    await ended(h, id);
    const answer = await h.call({
      method: "POST",
      url: `/v1/executions/${id}/update`,
      payload: { definition: V2 },
    });
    expect(answer.status).toBe(202);
    expect(answer.body.traversal).toMatchObject({ number: 2, cause: "update", of: 2 });
    const report = await ended(h, id);
    expect(report.tasks.first).toMatchObject({ status: "succeeded", output: "two" });
    expect(report.tasks.second).toMatchObject({ status: "succeeded", output: "two" });
    // Unchanged definition and inputs: the same again reuses every task.
    await h.call({ method: "POST", url: `/v1/executions/${id}/update`, payload: { definition: V2 } });
    const again = await ended(h, id);
    expect(again.traversal.number).toBe(3);
    expect(again.tasks.first.reused).toBe(true);
    expect(again.tasks.second.reused).toBe(true);
    const events = (await h.call({ url: `/v1/executions/${id}/events` })).body.events as { type: string }[];
    expect(events.filter((event) => event.type === "traversal:started")).toHaveLength(2);
  });

  it("refuses an invalid definition with its line numbers, another workflow, an unknown execution; nothing changes", async () => {
    const h = await harness({ workers: 1 });
    await h.register(V1);
    const id = await h.start("chain");
    await ended(h, id);
    const invalid = await h.call({
      method: "POST",
      url: `/v1/executions/${id}/update`,
      payload: { definition: `${V1}  third: { action: echo, after: [missing] }\n` },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.text).toMatch(/request:5:\d+/);
    const other = await h.call({
      method: "POST",
      url: `/v1/executions/${id}/update`,
      payload: { definition: V1.replace("name: chain", "name: other") },
    });
    expect(other.status).toBe(400);
    expect(other.body.error.message).toContain('cannot be updated to "other"');
    const unknown = await h.call({
      method: "POST",
      url: "/v1/executions/nope/update",
      payload: { definition: V1 },
    });
    expect(unknown.status).toBe(404);
    const shell = await h.call({
      method: "POST",
      url: `/v1/executions/${id}/update`,
      payload: {
        definition: V1.replace(
          "action: echo, with: { message: one }",
          "action: shell, with: { command: id }",
        ),
      },
    });
    expect(shell.status).toBe(403);
    const report = (await h.call({ url: `/v1/executions/${id}` })).body;
    expect(report.traversal).toBeUndefined();
    expect(report.status).toBe("succeeded");
  });
});

describe("POST /v1/executions/{id}/rollback and /undo", () => {
  it("rolls back to the last traversal that succeeded, then undoes everything", async () => {
    const h = await harness({ workers: 1 });
    await h.register(V1);
    const id = await h.start("chain");
    await ended(h, id);
    await h.call({ method: "POST", url: `/v1/executions/${id}/update`, payload: { definition: V2 } });
    await ended(h, id);
    const back = await h.call({ method: "POST", url: `/v1/executions/${id}/rollback` });
    expect(back.status).toBe(202);
    expect((await ended(h, id)).tasks.first.output).toBe("one");
    const undo = await h.call({ method: "POST", url: `/v1/executions/${id}/undo` });
    expect(undo.status).toBe(202);
    const report = await ended(h, id, "undone");
    expect(report.traversal).toMatchObject({ number: 4, cause: "undo" });
    expect(report.tasks).toEqual({});
  });
});

describe("a callback of a replaced traversal", () => {
  it("answers 410 and changes nothing; the new traversal's delegate waits with a new token", async () => {
    const h = await harness();
    await h.register(APPROVAL);
    const id = await h.start("approval");
    const token = await waitingToken(h.runtime, id);
    const updated = await h.call({
      method: "POST",
      url: `/v1/executions/${id}/update`,
      payload: { definition: APPROVAL },
    });
    expect(updated.status).toBe(202);
    const late = await h.call({
      method: "POST",
      url: `/v1/callbacks/${token}/complete`,
      payload: { output: { by: "ana" } },
    });
    expect(late).toMatchObject({ status: 410, body: { error: { code: "CALLBACK_SUPERSEDED" } } });
    const fresh = await waitingToken(h.runtime, id);
    const done = await h.call({
      method: "POST",
      url: `/v1/callbacks/${fresh}/complete`,
      payload: { output: { by: "bob" } },
    });
    expect(done.status).toBe(200);
    expect((await h.call({ url: `/v1/executions/${id}` })).body.tasks.approve.output).toEqual({ by: "bob" });
  });
});
