/**
 * The HTTP API under a bounded load on loopback (autocannon, 10 connections, about 10 s per run):
 * `GET /v1/executions/{id}`, delegate heartbeats (repeatable on one waiting delegate) and
 * completions (each with a token of its own), on the embedded SQLite store, beside a reference
 * measured in the same run: a bare `node:http` server answering the same JSON bytes.
 *
 * `npx tsx bench/http.ts`; BENCH_HTTP_SECONDS shortens or lengthens the runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { serve } from "../src/api/index.js";
import { parseWorkflow } from "../src/definition/index.js";

/** One load run's figures. */
export interface HttpFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers that were not 2xx, and connection errors: both should be 0. */
  non2xx: number;
  errors: number;
}

export interface HttpBench {
  connections: number;
  seconds: number;
  reference: HttpFigures;
  getExecution: HttpFigures;
  heartbeat: HttpFigures;
  complete: HttpFigures & { tokens: number };
}

async function load(options: autocannon.Options): Promise<HttpFigures> {
  const result = await autocannon(options);
  return {
    // Total over elapsed time: the per-second average would count a last, partial second as whole.
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const FIVE_TASKS = `name: bench-report
tasks:
  extract: { action: noop }
  transform: { action: noop, after: extract }
  approve: { action: delegate, after: transform }
  load: { action: noop, after: approve }
  notify: { action: echo, after: load, with: { message: done } }
`;

/** `tokens` delegates waiting in one execution, so completions never collide. */
function delegates(tokens: number): string {
  const tasks = Array.from({ length: tokens }, (_, i) => `  d${i}: { action: delegate, timeout: 1h }`);
  return `name: bench-delegates\ntasks:\n${tasks.join("\n")}\n`;
}

/**
 * Runs the four loads and answers their figures.
 *
 * @example
 * const figures = await benchHttp({ seconds: 2 });
 */
export async function benchHttp(
  options: { seconds?: number; connections?: number } = {},
): Promise<HttpBench> {
  const seconds = options.seconds ?? 10;
  const connections = options.connections ?? 10;
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-http-"));
  const server = await serve({ store: `sqlite:${join(dir, "weft.db")}`, port: 0, workers: 0 });
  const { engine } = server.runtime;
  let reference: ReturnType<typeof createServer> | undefined;
  try {
    // An execution whose delegates wait: their tokens come from the engine as a worker gets them.
    const tokens = Math.max(500, Math.round(seconds * 800));
    const spec = (await engine.registerWorkflow(parseWorkflow(delegates(tokens), "bench"))).spec;
    const { execution } = await engine.start(spec, {});
    const claimed = await engine.claim({ owner: "bench", limit: tokens, executionId: execution.id });
    const waiting: string[] = [];
    for (const run of claimed) waiting.push((await engine.wait(run))!.token);
    const heartbeatToken = waiting.pop()!;
    // The report read is of an execution of a usual size (five tasks), not of the big one.
    const small = await engine.registerWorkflow(parseWorkflow(FIVE_TASKS, "bench"));
    const reportPath = `/v1/executions/${(await engine.start(small.spec, {})).execution.id}`;
    const body = await (await fetch(`${server.url}${reportPath}`)).text();

    reference = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(body);
    });
    await new Promise<void>((resolve) => reference!.listen(0, "127.0.0.1", resolve));
    const referenceUrl = `http://127.0.0.1:${(reference.address() as AddressInfo).port}`;

    const common = { connections, duration: seconds };
    const result: HttpBench = {
      connections,
      seconds,
      reference: await load({ ...common, url: `${referenceUrl}${reportPath}` }),
      getExecution: await load({ ...common, url: `${server.url}${reportPath}` }),
      heartbeat: await load({
        ...common,
        url: `${server.url}/v1/callbacks/${heartbeatToken}/heartbeat`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"extend":"10m"}',
      }),
      complete: { tokens: waiting.length, requestsPerSecond: 0, p50Ms: 0, p99Ms: 0, non2xx: 0, errors: 0 },
    };
    let next = 0;
    result.complete = {
      tokens: waiting.length,
      ...(await load({
        connections,
        amount: waiting.length,
        url: server.url,
        requests: [
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: '{"output":{"ok":true}}',
            // Each request takes the next waiting token: every completion is a real one.
            setupRequest: (request) => ({
              ...request,
              path: `/v1/callbacks/${waiting[next++ % waiting.length]}/complete`,
            }),
          },
        ],
      })),
    };
    return result;
  } finally {
    await new Promise((resolve) => (reference ? reference.close(resolve) : resolve(undefined)));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Prints the figures, each beside the reference. */
export function printHttpBench(bench: HttpBench): void {
  const line = (label: string, figures: HttpFigures) => {
    const share = ((figures.requestsPerSecond / bench.reference.requestsPerSecond) * 100).toFixed(0);
    const problems =
      figures.non2xx + figures.errors > 0 ? ` [${figures.non2xx} non-2xx, ${figures.errors} errors]` : "";
    console.log(
      `  ${label}: ${fmt(figures.requestsPerSecond)} req/s (${share}% of the reference), p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms${problems}`,
    );
  };
  console.log(`http: ${bench.connections} connections, ${bench.seconds} s per run, SQLite store, loopback`);
  console.log(
    `  reference: bare node:http answering the same JSON: ${fmt(bench.reference.requestsPerSecond)} req/s, p50 ${bench.reference.p50Ms} ms, p99 ${bench.reference.p99Ms} ms`,
  );
  line("GET /v1/executions/{id}", bench.getExecution);
  line("POST /v1/callbacks/{token}/heartbeat", bench.heartbeat);
  line(`POST /v1/callbacks/{token}/complete (${fmt(bench.complete.tokens)} tokens)`, bench.complete);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = process.env.BENCH_HTTP_SECONDS ? Number(process.env.BENCH_HTTP_SECONDS) : undefined;
  printHttpBench(await benchHttp({ seconds }));
}
