/**
 * The CLI as a client: `weft server` as a real process on a random port, and `weft start`,
 * `status`, `complete`, `fail` and `cancel` with `--server URL`, printing what the store path
 * prints, with the same exit codes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "weft-client-"));
const store = `sqlite:${join(dir, "weft.db")}`;
let server: ReturnType<typeof startWeft>;
let url = "";
let receiver: Server;
/** Callback tokens the receiver was handed, in order. */
const tokens: string[] = [];

const weft = (...args: string[]) => runWeft(args, { cwd: dir, env: { WEFT_SERVER: "", WEFT_API_TOKEN: "" } });

async function startServer(args: string[]): Promise<{ process: ReturnType<typeof startWeft>; url: string }> {
  const child = startWeft(["server", "--store", store, "--port", "0", ...args], { cwd: dir });
  await waitFor(() => /listening on (\S+)/.test(child.output.stderr), 20_000, "the server to listen");
  return { process: child, url: /listening on (\S+)/.exec(child.output.stderr)![1]! };
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      tokens.push((JSON.parse(text) as { token: string }).token);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const port = (receiver.address() as AddressInfo).port;
  writeFileSync(
    join(dir, "handoff.yaml"),
    `name: handoff
inputs:
  who: { type: string, default: nobody }
tasks:
  approve:
    action: delegate
    with:
      notify: { url: "http://127.0.0.1:${port}/hook", body: { token: "\${{ callback.token }}" } }
output:
  who: "\${{ inputs.who }}"
  by: "\${{ tasks.approve.output.by }}"
`,
  );
  ({ process: server, url } = await startServer(["--workers", "1"]));
});

afterAll(async () => {
  server.child.kill("SIGTERM");
  const ended = await server.done;
  expect(ended.code).toBe(0);
  expect(ended.stderr).toContain("weft server stopped");
  await new Promise((resolve) => receiver.close(resolve));
});

/** Polls the API directly (not through the CLI under test, which would spawn a process per look). */
async function waitForStatus(id: string, status: string): Promise<void> {
  await waitFor(
    async () =>
      ((await (await fetch(`${url}/v1/executions/${id}`)).json()) as { status: string }).status === status,
    20_000,
    `execution ${id} to be ${status}`,
  );
}

async function waitForToken(count: number): Promise<string> {
  await waitFor(() => tokens.length >= count, 20_000, "the delegate's hand-off");
  return tokens[count - 1]!;
}

// Every step spawns a CLI process: generous timeouts for loaded machines.
describe("weft --server", { timeout: 60_000 }, () => {
  it("starts from a file and by name, completes by token, and reports as the store path does", async () => {
    const started = await weft("start", "handoff.yaml", "-i", "who=ana", "--server", url);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    const token = await waitForToken(1);
    const overHttp = await weft("status", id, "--json", "--server", url);
    const fromStore = await weft("status", id, "--json", "--store", store);
    expect(overHttp.code).toBe(0);
    expect(overHttp.stdout).toBe(fromStore.stdout);
    expect(JSON.parse(overHttp.stdout).tasks.approve.status).toBe("waiting");

    const complete = await weft("complete", token, "--output", '{"by": "bob"}', "--server", url);
    expect(complete).toMatchObject({ code: 0, stderr: `task "approve" of execution ${id}: completed\n` });
    await waitForStatus(id, "succeeded");
    const text = await weft("status", id, "--server", url);
    expect(text.stdout).toBe((await weft("status", id, "--store", store)).stdout);
    expect(JSON.parse((await weft("status", id, "--json", "--server", url)).stdout).output).toEqual({
      who: "ana",
      by: "bob",
    });
    // The same result again is fine (200); another is refused like on the store path.
    expect((await weft("complete", token, "--output", '{"by": "bob"}', "--server", url)).code).toBe(0);
    const conflict = await weft("complete", token, "--output", '{"by": "eve"}', "--server", url);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toBe(
      'weft: task "approve" already ended succeeded; this token finishes nothing more.\n',
    );
  });

  it("starts by name and fails by token", async () => {
    const byName = await weft("start", "handoff", "--server", url);
    expect(byName.code).toBe(0);
    const second = byName.stdout.trim();
    const failed = await weft("fail", await waitForToken(2), "--error", "rejected", "--server", url);
    expect(failed).toMatchObject({ code: 0, stderr: `task "approve" of execution ${second}: failed\n` });
    await waitForStatus(second, "failed");
  });

  it("cancels, and exits 2 with the server's message where the store path exits 2", async () => {
    const id = (await weft("start", "handoff", "--server", url)).stdout.trim();
    const cancel = await weft("cancel", id, "--server", url);
    expect(cancel).toMatchObject({ code: 0, stderr: `execution ${id}: cancelled\n` });
    const missing = await weft("status", "nope", "--server", url);
    const missingInStore = await weft("status", "nope", "--store", store);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(missingInStore.stderr);
    const unknown = await weft("complete", "no-such-token", "--server", url);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe((await weft("complete", "no-such-token", "--store", store)).stderr);
    const notRegistered = await weft("start", "nothing-here", "--server", url);
    expect(notRegistered.code).toBe(2);
    expect(notRegistered.stderr).toContain('Workflow "nothing-here" is not registered');
    const badInput = await weft("start", "handoff.yaml", "--input", '{"nope": 1}', "--server", url);
    expect(badInput.code).toBe(2);
    expect(badInput.stderr).toContain('Unknown input "nope"');
    expect((await weft("status", id, "--server", url, "--store", store)).code).toBe(2);
    const unreachable = await weft("status", id, "--server", "http://127.0.0.1:1");
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain("cannot reach the Weft server at http://127.0.0.1:1");
  });

  it("reads $WEFT_SERVER and sends --token or $WEFT_API_TOKEN to a server that has one", async () => {
    const guarded = await startServer(["--workers", "0", "--token", "s3cret"]);
    try {
      const id = (await weft("start", "handoff", "--server", url)).stdout.trim();
      const env = { WEFT_SERVER: guarded.url, WEFT_API_TOKEN: "" };
      const refused = await runWeft(["status", id], { cwd: dir, env });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("needs the API token");
      const withFlag = await runWeft(["status", id, "--token", "s3cret"], { cwd: dir, env });
      expect(withFlag.code).toBe(0);
      const withEnv = await runWeft(["status", id, "--json"], {
        cwd: dir,
        env: { ...env, WEFT_API_TOKEN: "s3cret" },
      });
      expect(JSON.parse(withEnv.stdout).id).toBe(id);
    } finally {
      guarded.process.child.kill("SIGTERM");
      await guarded.process.done;
    }
  });
});

describe("weft server", { timeout: 60_000 }, () => {
  it("refuses to serve beyond loopback without a token, and says why", async () => {
    const result = await runWeft(["server", "--store", store, "--host", "0.0.0.0", "--port", "0"], {
      cwd: dir,
      env: { WEFT_API_TOKEN: "" },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^weft: Refusing to serve on 0\.0\.0\.0 without an API token/);
  });

  it("answers usage errors with exit 2", async () => {
    for (const args of [
      ["--port", "http"],
      ["--workers", "-1"],
      ["--public-url", "ftp://x"],
      ["--body-limit", "0"],
    ]) {
      const result = await runWeft(["server", "--store", store, ...args], { cwd: dir });
      expect(result.code, args.join(" ")).toBe(2);
    }
  });
});
