import type { ExecutionEvent } from "../engine/store.js";
import { formatDuration } from "../shared/durations.js";
import type { CliIO } from "./io.js";

/**
 * What `weft run` shows while it works: on a terminal, one live line (done/total, running,
 * failed, elapsed) redrawn in place; otherwise a plain line per task that ends, for logs.
 */
export class Progress {
  private done = 0;
  private running = 0;
  private failed = 0;
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly io: CliIO,
    private readonly total: number,
  ) {
    if (io.isTTY) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  onEvents(events: readonly ExecutionEvent[]): void {
    for (const event of events) {
      if (event.kind !== undefined && event.kind !== "task" && event.kind !== "undo") continue;
      const label = event.kind === "undo" ? `undo ${event.task}` : event.task;
      switch (event.type) {
        case "task:started":
          this.running += 1;
          break;
        case "task:succeeded":
        case "task:failed":
        case "task:skipped":
        case "task:cancelled":
          // An undo with nothing to undo is skipped: not worth a line.
          if (event.kind === "undo" && event.type === "task:skipped") break;
          if (event.kind === "task") this.done += 1;
          if (event.type === "task:failed") this.failed += 1;
          if (event.type !== "task:skipped" && event.type !== "task:cancelled")
            this.running = Math.max(0, this.running - 1);
          this.line(
            `${event.type.slice(5)} ${label}${event.attempt && event.attempt > 1 ? ` (attempt ${event.attempt})` : ""}${event.error ? `: ${event.error.message}` : ""}`,
          );
          break;
        case "task:retrying":
          this.running = Math.max(0, this.running - 1);
          this.line(`retrying ${label} after attempt ${event.attempt}: ${event.error?.message ?? ""}`);
          break;
        case "task:waiting":
          this.running = Math.max(0, this.running - 1);
          this.line(
            `waiting ${label}: complete it with 'weft complete --execution ${event.executionId} --task ${event.task}'`,
          );
          break;
        case "task:reused":
          this.line(`reused ${label}: its definition and inputs did not change`);
          break;
        case "task:expanded": {
          // Its instances run now; they get no line each (there may be thousands), the task one.
          this.running = Math.max(0, this.running - 1);
          const { instances } = (event.data ?? {}) as { instances?: number };
          this.line(`expanded ${label} into ${instances ?? 0} instances`);
          break;
        }
        case "lease:expired":
          this.line(`lease expired ${label} (attempt ${event.attempt})`);
          break;
        default:
          break;
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.io.isTTY) {
      this.draw();
      this.io.stderr("\n");
    }
  }

  private line(text: string): void {
    if (this.io.isTTY) {
      this.io.stderr(`\r\x1b[2K${text}\n`);
      this.draw();
    } else {
      this.io.stderr(`${text}\n`);
    }
  }

  private draw(): void {
    const elapsed = formatDuration(Date.now() - this.startedAt);
    this.io.stderr(
      `\r\x1b[2K[${this.done}${this.total > 0 ? `/${this.total}` : ""}] running ${this.running}, failed ${this.failed}, elapsed ${elapsed}`,
    );
  }
}
