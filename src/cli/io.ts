import type { Logger } from "../shared/logger.js";

/** Where a command writes; tests and the HTTP server pass their own. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** true when stderr is a terminal: live progress instead of plain lines. */
  isTTY: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
  cwd: process.cwd(),
  env: process.env,
};

/** Exit codes of every command (DESIGN.md, "Public surfaces"). */
export const ExitCode = { ok: 0, failed: 1, invalid: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown by a command to end with a message and an exit code, never a stack trace. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

/** A logger printing warnings and errors on stderr, one line each (`warn: ...`); the rest is dropped. */
export function stderrLogger(io: CliIO): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    io.stderr(`${level}: ${message}${fields?.error ? `\n${String(fields.error)}` : ""}\n`);
  return { debug() {}, info() {}, warn: line("warn"), error: line("error") };
}
