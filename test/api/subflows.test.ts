/** Sub-workflows over HTTP: the execution resource links parent and children; cancel reaches the child; recursion is a 400. */
import { describe, expect, it } from "vitest";
import { eventually, harness } from "./harness.js";

const CHILD = `name: child
tasks:
  approve: { action: delegate, timeout: 1h }
`;

const PARENT = `name: parent
tasks:
  sub:
    action: workflow
    with: { workflow: child }
`;

describe("sub-workflows over HTTP", () => {
  it("shows parent and children on GET /v1/executions/{id}, and a cancel of the parent cancels the child", async () => {
    const { call, register, start, runtime } = await harness({ workers: 2 });
    await register(CHILD);
    await register(PARENT);
    const parentId = await start("parent");
    let childId = "";
    await eventually(async () => {
      const answer = await call({ method: "GET", url: `/v1/executions/${parentId}` });
      childId = answer.body.children?.[0]?.id ?? "";
      return childId !== "";
    });
    const parent = await call({ method: "GET", url: `/v1/executions/${parentId}` });
    expect(parent.body).toMatchObject({
      tasks: { sub: { status: "waiting" } },
      children: [{ id: childId, workflow: "child", status: "running", task: "sub", attempt: 1 }],
    });
    expect(parent.body.parent).toBeUndefined();
    const child = await call({ method: "GET", url: `/v1/executions/${childId}` });
    expect(child.body).toMatchObject({
      workflow: "child",
      parent: { id: parentId, task: "sub", attempt: 1 },
    });
    expect(child.body.children).toBeUndefined();

    const cancelled = await call({ method: "POST", url: `/v1/executions/${parentId}/cancel`, payload: {} });
    expect(cancelled.status).toBe(200);
    expect(await runtime.store.getExecution(childId)).toMatchObject({ status: "cancelled" });
  });

  it("answers 400 RECURSIVE_WORKFLOW for a definition whose sub-workflows lead back to it", async () => {
    const { call, register } = await harness();
    await register("name: b\ntasks:\n  go: { action: workflow, with: { workflow: a } }\n");
    const answer = await call({
      method: "POST",
      url: "/v1/workflows",
      headers: { "content-type": "application/yaml" },
      payload: "name: a\ntasks:\n  go: { action: workflow, with: { workflow: b } }\n",
    });
    expect(answer).toMatchObject({
      status: 400,
      body: {
        error: { code: "RECURSIVE_WORKFLOW", message: expect.stringContaining("a.go -> b -> b.go -> a") },
      },
    });
  });
});
