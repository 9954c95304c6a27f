/**
 * A delegate whose notify hands out `callback.url` needs a public URL: without one it fails at once,
 * for good, naming the flag, instead of sending an empty link nobody can call back.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callbackLinkRead } from "../../src/definition/callback-reads.js";
import { parseWorkflow } from "../../src/definition/index.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { runWeft } from "../helpers/cli.js";

let server: Server;
let hook: string;
const received: unknown[] = [];

beforeAll(async () => {
  delete process.env.WEFT_PUBLIC_URL;
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

const approval = (url: string) =>
  parseWorkflow(
    `name: approval
tasks:
  approve:
    action: delegate
    timeout: 1s
    retry: { attempts: 3, backoff: 10ms }
    with:
      notify: { url: "${url}", method: POST, body: { done: "\${{ callback.url }}" } }
`,
    "approval.yaml",
  );

describe("a delegate reading callback.url", () => {
  it("fails for good at start, naming --public-url, when the process has no public URL", async () => {
    const runtime = await createRuntime({ store: "memory:" });
    try {
      const execution = await runtime.run(approval(hook));
      expect(execution.status).toBe("failed");
      const [approve] = await runtime.store.listRuns(execution.id);
      expect(approve).toMatchObject({ status: "failed", attempt: 1 });
      expect(approve!.error).toMatchObject({ type: "NoPublicUrl", retryable: false });
      expect(approve!.error!.message).toContain("reads callback.url");
      expect(approve!.error!.message).toContain("--public-url (or WEFT_PUBLIC_URL)");
      expect(received).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it("sends the link under the public URL when one is known", async () => {
    const runtime = await createRuntime({ store: "memory:", publicUrl: "https://weft.example/" });
    try {
      // Nobody calls back: the delegate times out after its notify was sent.
      await runtime.run(approval(hook));
      expect(received[0]).toEqual({
        done: expect.stringMatching(/^https:\/\/weft\.example\/v1\/callbacks\/[^/]+\/complete$/),
      });
    } finally {
      await runtime.close();
    }
  });

  it("finds the links expressions read, and only those", () => {
    expect(callbackLinkRead({ notify: { body: "${{ callback . failUrl }}" } })).toBe("callback.failUrl");
    expect(callbackLinkRead({ notify: { body: { t: "${{ callback.token }}" } } })).toBeUndefined();
    expect(callbackLinkRead({ message: "callback.url, not an expression" })).toBeUndefined();
  });

  it("weft worker refuses a --public-url that is no http(s) URL before it opens the store", async () => {
    // Needs `npm run build`: runWeft runs bin/weft.js over dist/.
    const result = await runWeft(["worker", "--public-url", "weft.example", "--store", "memory:"], {
      cwd: process.cwd(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--public-url must be an http: or https: URL, got "weft.example".');
  });
});
