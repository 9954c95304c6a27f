/**
 * `shell`: runs `with.command` with `/bin/sh -c`. The child gets its own process group so an
 * abort (timeout, cancel) kills everything the command started, not only the shell: `sh -c
 * "sleep 30"` would otherwise leave `sleep` running with our pipes open.
 */
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { TaskFailure } from "../shared/errors.js";
import { abortReason, ActionArgumentError, type Action } from "./action.js";
import { parseArguments, toStrings } from "./arguments.js";

/** Most bytes kept of each of stdout and stderr; the rest is read and dropped so the child never blocks. */
export const SHELL_OUTPUT_CAP = 1024 * 1024;

/** The output of a `shell` task. */
export interface ShellOutput {
  /** Standard output, one trailing newline removed, at most `SHELL_OUTPUT_CAP` bytes. */
  stdout: string;
  /** Standard error, the same way. */
  stderr: string;
  /** The exit code: always 0 in an output, since any other code fails the task. */
  code: number;
}

/** Collects a stream up to the cap; `text()` decodes what was kept. */
function capture(stream: Readable): { text: () => string; truncated: () => boolean } {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  stream.on("data", (chunk: Buffer) => {
    const room = SHELL_OUTPUT_CAP - size;
    if (chunk.length > room) truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    chunks.push(kept);
    size += kept.length;
  });
  return {
    text: () =>
      Buffer.concat(chunks)
        .toString("utf8")
        .replace(/\r?\n$/, ""),
    truncated: () => truncated,
  };
}

/** The last non-empty line of stderr: usually the one that says what went wrong. */
function lastLine(text: string): string | undefined {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  return lines[lines.length - 1]?.trim();
}

/** Checked before spawning, because a missing cwd makes spawn report a puzzling "spawn /bin/sh ENOENT". */
async function checkDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new ActionArgumentError("shell", "cwd", `is "${dir}", which is not an existing directory`);
  }
}

/**
 * `shell`: `with.command` (string, run by `/bin/sh -c`), optional `with.env` (object of strings,
 * merged over the worker's environment) and `with.cwd` (resolved against `ctx.baseDir`, which is
 * also the default, so a workflow's relative paths mean the same on every worker).
 * Output `{ stdout, stderr, code }`. A non-zero exit fails with a retryable "ShellError".
 *
 * @example
 * // with: { command: "echo $GREETING", env: { GREETING: "hi" } } -> { stdout: "hi", stderr: "", code: 0 }
 */
export const shellAction: Action = async (args, ctx) => {
  const parsed = parseArguments("shell", args);
  const command = parsed.command;
  const env = toStrings(parsed.env);
  const cwd = path.resolve(ctx.baseDir, parsed.cwd ?? ".");
  await checkDirectory(cwd);

  const { signal } = ctx;
  if (signal.aborted) throw abortReason(signal);

  return new Promise<ShellOutput>((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", command], {
      cwd,
      env: { ...process.env, ...env },
      // Own process group: `process.kill(-pid)` then reaches the shell and all its descendants.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout = capture(child.stdout);
    const stderr = capture(child.stderr);
    let settled = false;

    const settle = (done: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      done();
    };
    const onAbort = (): void => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // ESRCH: the group is already gone, which is what we wanted.
        }
      }
      settle(() => reject(abortReason(signal)));
    };
    signal.addEventListener("abort", onAbort, { once: true });

    child.on("error", (error) => {
      settle(() =>
        reject(new TaskFailure(`could not start /bin/sh: ${error.message}`, { type: "ShellError" })),
      );
    });
    // "close", not "exit": it fires once both pipes are drained, so no output is lost.
    child.on("close", (code, killedBy) => {
      settle(() => {
        for (const [name, stream] of [
          ["stdout", stdout],
          ["stderr", stderr],
        ] as const) {
          if (stream.truncated()) {
            ctx.logger.warn(`shell: ${name} was cut to ${SHELL_OUTPUT_CAP} bytes`, { task: ctx.task });
          }
        }
        const err = stderr.text();
        if (code === 0) {
          resolve({ stdout: stdout.text(), stderr: err, code });
          return;
        }
        const why =
          code === null ? `command was killed by signal ${killedBy}` : `command exited with code ${code}`;
        const detail = lastLine(err);
        reject(new TaskFailure(detail ? `${why}: ${detail}` : why, { type: "ShellError", retryable: true }));
      });
    });
  });
};
