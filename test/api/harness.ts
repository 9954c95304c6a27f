/**
 * What the API tests share: a server around a MemoryStore (optionally with an in-process
 * worker), a logger that keeps what it was told, and a way to get a delegate's callback token
 * without a worker (claiming and waiting the way a worker does).
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterEach } from "vitest";
import { buildServer, EventHub, type ServerOptions } from "../../src/api/index.js";
import { parseWorkflow } from "../../src/definition/index.js";
import type { Logger } from "../../src/shared/logger.js";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import type { Worker } from "../../src/worker/worker.js";

export interface Answer {
  status: number;
  // Tests read answers by path; their shapes are checked by the assertions themselves.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Record<string, unknown>;
  text: string;
}

export interface Harness {
  app: FastifyInstance;
  runtime: Runtime;
  worker?: Worker;
  logs: string[];
  /** `app.inject`, answering status, parsed JSON body and headers. */
  call(options: InjectOptions): Promise<Answer>;
  /** Registers a YAML definition through the API. */
  register(yaml: string): Promise<void>;
  /** Starts an execution through the API; answers its id. */
  start(workflow: string, input?: Record<string, unknown>): Promise<string>;
  /** Listens on a free loopback port; answers the base URL. */
  listen(): Promise<string>;
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

/** A logger that keeps every line, so tests can see what reached the log (and what did not reach clients). */
export function collectingLogger(lines: string[]): Logger {
  const keep = (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`);
  return { debug: keep, info: keep, warn: keep, error: keep };
}

/** A server on a fresh MemoryStore; with `workers`, an in-process worker runs the tasks. */
export async function harness(
  options: Partial<Omit<ServerOptions, "runtime">> & { workers?: number } = {},
): Promise<Harness> {
  const events = options.events ?? new EventHub();
  const runtime = await createRuntime({ store: new MemoryStore(), onEvents: events.publish, pollMs: 20 });
  const worker = options.workers ? runtime.startWorker({ concurrency: options.workers }) : undefined;
  const logs: string[] = [];
  const app = buildServer({
    logger: collectingLogger(logs),
    streamPollMs: 50,
    ...options,
    runtime,
    events,
    wake: () => worker?.wake(),
  });
  open.push(async () => {
    await worker?.stop(0);
    const closing = app.close();
    // fetch keeps a spare connection that never sends a request; Node would wait for it.
    app.server.closeAllConnections();
    await closing;
    await runtime.store.close();
  });
  const call: Harness["call"] = async (request) => {
    const response = await app.inject(request);
    let body: unknown;
    try {
      body = response.body === "" ? undefined : JSON.parse(response.body);
    } catch {
      body = undefined;
    }
    return { status: response.statusCode, body, headers: response.headers, text: response.body };
  };
  return {
    app,
    runtime,
    worker,
    logs,
    call,
    async register(yaml) {
      parseWorkflow(yaml, "test"); // fail here, with the diagnostics, if the fixture is wrong
      const answer = await call({
        method: "POST",
        url: "/v1/workflows",
        headers: { "content-type": "application/yaml" },
        payload: yaml,
      });
      if (answer.status !== 201) throw new Error(`register answered ${answer.status}: ${answer.text}`);
    },
    async listen() {
      await app.listen({ host: "127.0.0.1", port: 0 });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
    async start(workflow, input = {}) {
      const answer = await call({ method: "POST", url: "/v1/executions", payload: { workflow, input } });
      if (answer.status !== 201) throw new Error(`start answered ${answer.status}: ${answer.text}`);
      return answer.body.id as string;
    },
  };
}

/** A delegate `approve`, then an echo after it. */
export const APPROVAL = `name: approval
tasks:
  approve:
    action: delegate
    timeout: 1h
  announce:
    action: echo
    after: approve
    with: { message: "approved by \${{ tasks.approve.output.by }}" }
`;

/**
 * Claims the execution's ready runs the way a worker would (without running them) and makes
 * its waiting delegate wait: answers the callback token.
 */
export async function waitingToken(runtime: Runtime, executionId: string, task = "approve"): Promise<string> {
  const claimed = await runtime.engine.claim({ owner: "test", limit: 10, executionId });
  const run = claimed.find((candidate) => candidate.task === task);
  if (!run) throw new Error(`task ${task} was not ready`);
  const waiting = await runtime.engine.wait(run);
  if (!waiting) throw new Error(`task ${task} did not start waiting`);
  return waiting.token;
}

/** Polls `check` every 20 ms until it holds, or fails after `timeoutMs`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = "condition",
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
