/**
 * A code-first version started over HTTP keeps its code id: the server's worker (which lacks the
 * functions) leaves its function task, and a worker given the workflow runs it.
 */
import { describe, expect, it } from "vitest";
import { workflow } from "../../src/definition/builder.js";
import { codeId } from "../../src/runtime/code-id.js";
import { waitFor } from "../helpers/cli.js";
import { harness } from "./harness.js";

describe("POST /v1/executions of a code-first version", () => {
  it("records the version's code id, so only a worker with the functions runs them", async () => {
    const h = await harness({ workers: 2 });
    const flow = workflow("coded", { output: "${{ tasks.f.output }}" }).task("f", {}, () => 5);
    const record = await h.runtime.engine.registerWorkflow(
      flow.spec,
      undefined,
      codeId("coded", flow.functions),
    );
    const id = await h.start("coded");
    const execution = await h.runtime.store.getExecution(id);
    expect(execution).toMatchObject({ code: record.code, version: record.version });
    const answer = await h.call({ method: "GET", url: `/v1/executions/${id}` });
    expect(answer.body.tasks.f.status).toBe("ready");

    const worker = h.runtime.startWorker({ workflows: [flow] });
    await waitFor(
      async () => (await h.runtime.store.getExecution(id))?.status === "succeeded",
      10_000,
      "success",
    );
    await worker.stop();
    expect(await h.runtime.store.getExecution(id)).toMatchObject({ output: 5 });
  });
});
