/**
 * The whole hand-off over real loopback HTTP, as a third party sees it: a delegate task's
 * `with.notify` calls a small HTTP receiver with its callback URL, the receiver calls back, and
 * the execution finishes, run by the server's in-process worker. A first attempt the receiver
 * fails is retried by an operator over the API, and the execution resumes.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { serve, type RunningServer } from "../../src/api/index.js";
import { eventually } from "./harness.js";

let server: RunningServer | undefined;
let receiver: Server | undefined;

afterEach(async () => {
  await server?.close();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  server = receiver = undefined;
});

function readJson(request: IncomingMessage): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => resolve(JSON.parse(text) as Record<string, string>));
    request.on("error", reject);
  });
}

/** A third party: remembers each hand-off, answers 202 at once, and calls back shortly after. */
async function startReceiver(decide: (call: number) => { url: "callback" | "fail"; body: unknown }) {
  const handoffs: Record<string, string>[] = [];
  const callbacks: number[] = [];
  receiver = createServer((request, response) => {
    void readJson(request).then((handoff) => {
      handoffs.push(handoff);
      response.writeHead(202).end();
      const { url, body } = decide(handoffs.length);
      // Calling back after answering, as a real system would (from its own queue).
      setTimeout(() => {
        void fetch(handoff[url]!, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then((answer) => callbacks.push(answer.status));
      }, 20);
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, "127.0.0.1", resolve));
  return { port: (receiver.address() as AddressInfo).port, handoffs, callbacks };
}

const definition = (port: number) => `name: handoff
tasks:
  approve:
    action: delegate
    timeout: 1m
    with:
      notify:
        url: "http://127.0.0.1:${port}/hook"
        method: POST
        body:
          callback: "\${{ callback.url }}"
          fail: "\${{ callback.failUrl }}"
          execution: "\${{ execution.id }}"
  announce:
    action: echo
    after: approve
    with: { message: "approved by \${{ tasks.approve.output.by }}" }
output:
  by: "\${{ tasks.approve.output.by }}"
`;

async function api(path: string, init: RequestInit = {}) {
  const response = await fetch(`${server!.url}${path}`, init);
  // Answers are read by path; the assertions check their shape.
  const body: ReturnType<typeof JSON.parse> = await response.json();
  return { status: response.status, body };
}

const post = (path: string, body?: unknown, type = "application/json") =>
  api(path, {
    method: "POST",
    headers: { "content-type": type },
    body: typeof body === "string" ? body : JSON.stringify(body ?? {}),
  });

describe("a delegate handed to a third party over HTTP", () => {
  it("finishes when the receiver calls the callback URL", async () => {
    const third = await startReceiver(() => ({ url: "callback", body: { output: { by: "receiver" } } }));
    server = await serve({ store: "memory:", port: 0, workers: 1 });
    expect((await post("/v1/workflows", definition(third.port), "application/yaml")).status).toBe(201);
    const started = await post("/v1/executions", { workflow: "handoff" });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    await eventually(async () => (await api(`/v1/executions/${id}`)).body.status === "succeeded", 15_000);
    const report = (await api(`/v1/executions/${id}`)).body;
    expect(report.output).toEqual({ by: "receiver" });
    expect(report.tasks.announce.output).toBe("approved by receiver");
    expect(third.handoffs).toHaveLength(1);
    expect(third.handoffs[0]!.execution).toBe(id);
    expect(third.handoffs[0]!.callback).toMatch(
      new RegExp(`^${server.url}/v1/callbacks/[A-Za-z0-9_-]{22}/complete$`),
    );
    expect(third.callbacks).toEqual([200]);
    // A third party retrying the same callback is told it worked; another result is refused.
    const path = new URL(third.handoffs[0]!.callback!).pathname;
    expect(await post(path, { output: { by: "receiver" } })).toMatchObject({
      status: 200,
      body: { status: "duplicate" },
    });
    expect((await post(path, { output: { by: "someone else" } })).status).toBe(409);
  });

  it("runs a failed delegate again after an operator's retry, and the execution resumes", async () => {
    const third = await startReceiver((call) =>
      call === 1
        ? { url: "fail", body: { error: "not approved yet" } }
        : { url: "callback", body: { output: { by: "second try" } } },
    );
    server = await serve({ store: "memory:", port: 0, workers: 1 });
    await post("/v1/workflows", definition(third.port), "application/yaml");
    const id = (await post("/v1/executions", { workflow: "handoff" })).body.id as string;
    await eventually(async () => (await api(`/v1/executions/${id}`)).body.status === "failed", 15_000);
    expect((await api(`/v1/executions/${id}`)).body.tasks.approve.error.message).toBe("not approved yet");
    const retried = await post(`/v1/executions/${id}/tasks/approve/retry`);
    expect(retried).toMatchObject({ status: 202, body: { status: "running" } });
    await eventually(async () => (await api(`/v1/executions/${id}`)).body.status === "succeeded", 15_000);
    expect((await api(`/v1/executions/${id}`)).body.output).toEqual({ by: "second try" });
    expect(third.handoffs).toHaveLength(2);
    // Each attempt got a token of its own.
    expect(third.handoffs[0]!.callback).not.toBe(third.handoffs[1]!.callback);
  });
});
