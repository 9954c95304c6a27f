import { mkdtemp, readFile, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActionArgumentError } from "../../src/actions/action.js";
import { SHELL_OUTPUT_CAP, shellAction } from "../../src/actions/shell-action.js";
import { TaskFailure, toTaskError } from "../../src/shared/errors.js";
import { makeContext, rejection } from "./context.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "weft-shell-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** true while `pid` runs; a zombie (killed, not yet reaped by init) counts as gone. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("shell", () => {
  it("outputs stdout and stderr with one trailing newline removed, and code 0", async () => {
    const { ctx } = makeContext();
    const output = await shellAction({ command: "printf 'a\\nb\\n\\n'; echo oops >&2" }, ctx);
    expect(output).toEqual({ stdout: "a\nb\n", stderr: "oops", code: 0 });
  });

  it("merges `with.env` over the worker's environment", async () => {
    const { ctx } = makeContext();
    const output = await shellAction(
      { command: 'echo "$GREETING $PORT ${PATH:+has-path}"', env: { GREETING: "hi", PORT: 8080 } },
      ctx,
    );
    expect(output).toMatchObject({ stdout: "hi 8080 has-path" });
  });

  it("runs in `with.cwd` resolved against ctx.baseDir, which is also the default", async () => {
    const { ctx } = makeContext({ baseDir: tmpdir() });
    const name = path.basename(dir);
    expect(await shellAction({ command: "pwd -P", cwd: name }, ctx)).toMatchObject({
      stdout: await realpath(dir),
    });
    expect(await shellAction({ command: "pwd -P" }, ctx)).toMatchObject({ stdout: await realpath(tmpdir()) });
  });

  it("fails retryably on a non-zero exit, quoting the last stderr line", async () => {
    const { ctx } = makeContext();
    const error = await rejection(
      shellAction({ command: "echo first >&2; echo 'no such thing' >&2; exit 3" }, ctx),
    );
    expect(error).toBeInstanceOf(TaskFailure);
    expect(toTaskError(error)).toEqual({
      type: "ShellError",
      message: "command exited with code 3: no such thing",
      retryable: true,
    });
    const quiet = await rejection(shellAction({ command: "exit 1" }, ctx));
    expect((quiet as Error).message).toBe("command exited with code 1");
  });

  it("rejects bad arguments", async () => {
    const { ctx } = makeContext();
    const noCommand = await rejection(shellAction({}, ctx));
    expect(noCommand).toBeInstanceOf(ActionArgumentError);
    expect((noCommand as Error).message).toBe('shell: "with.command" must be a non-empty string');
    const badEnv = await rejection(shellAction({ command: "true", env: { A: { nested: 1 } } }, ctx));
    expect((badEnv as Error).message).toMatch(/^shell: "with.env.A" must be a string/);
    const badCwd = await rejection(shellAction({ command: "true", cwd: "no-such-dir" }, ctx));
    expect((badCwd as Error).message).toMatch(/^shell: "with.cwd" is ".*no-such-dir", which is not/);
    expect(toTaskError(badCwd).retryable).toBe(false);
  });

  it("kills the whole process group when the signal aborts, and returns at once", async () => {
    const { ctx, controller } = makeContext();
    const pidFile = path.join(dir, "sleep.pid");
    // `sleep` runs in the background so the test can see that the grandchild dies too.
    const running = shellAction({ command: `sleep 30 & echo $! > ${pidFile}; wait` }, ctx);
    let pid = 0;
    for (let i = 0; i < 200 && !pid; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      pid = Number(await readFile(pidFile, "utf8").catch(() => "0"));
    }
    expect(pid).toBeGreaterThan(0);

    const reason = new Error("cancelled");
    const started = Date.now();
    controller.abort(reason);
    expect(await rejection(running)).toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);

    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      alive = await isRunning(pid);
      if (alive) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(alive).toBe(false);
  });

  it("aborts `sleep 30` within 100 ms", async () => {
    const { ctx, controller } = makeContext();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await rejection(shellAction({ command: "sleep 30" }, ctx));
    expect((error as Error).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("does not start when the signal has already aborted", async () => {
    const { ctx, controller } = makeContext();
    controller.abort();
    const marker = path.join(dir, "ran");
    await rejection(shellAction({ command: `touch ${marker}` }, ctx));
    expect(await readFile(marker).catch(() => "absent")).toBe("absent");
  });

  it("caps captured output and still lets the command finish", async () => {
    const { ctx } = makeContext();
    const output = (await shellAction({ command: "head -c 3000000 /dev/zero | tr '\\0' a" }, ctx)) as {
      stdout: string;
    };
    expect(output.stdout.length).toBe(SHELL_OUTPUT_CAP);
  });
});
