/** `weft events ID [--follow]` and `weft watch ID`: an execution's history, and its live progress. */
import type { Command } from "commander";
import { formatReport } from "../runtime/report.js";
import { withServerOption } from "./client.js";
import { formatEvent, historyEntry, presentEvents } from "./history.js";
import { ExitCode, type CliIO } from "./io.js";
import { Progress } from "./progress.js";
import { withSource } from "./source.js";
import { withStoreOption } from "./store-option.js";

interface SourceOptions {
  store?: string;
  server?: string;
  token?: string;
  json?: boolean;
}

/** Adds `weft events ID [--follow] [--json]` and `weft watch ID [--json]` (with `--store` or `--server`). */
export function registerHistoryCommands(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withServerOption(
    withStoreOption(
      program
        .command("events")
        .description("show an execution's history (with --follow: and every new event until it ends)")
        .argument("<id>")
        .option("--follow", "keep printing new events until the execution ended")
        .option("--json", "print a JSON array (with --follow: one JSON object a line)"),
    ),
    { token: true },
  ).action(async (id: string, options: SourceOptions & { follow?: boolean }) => {
    await withSource(options, io, async (source) => {
      if (!options.follow) {
        const events = presentEvents(await source.events(id));
        if (options.json) io.stdout(`${JSON.stringify(events.map(historyEntry))}\n`);
        else for (const event of events) io.stdout(formatEvent(event));
        return;
      }
      await source.follow(id, (batch) => {
        for (const event of presentEvents(batch))
          io.stdout(options.json ? `${JSON.stringify(historyEntry(event))}\n` : formatEvent(event));
      });
    });
  });

  withServerOption(
    withStoreOption(
      program
        .command("watch")
        .description("show an execution's progress live, as weft run does, until it ends (from any machine)")
        .argument("<id>")
        .option("--json", "at the end, print one JSON object with the result (as weft run --json)"),
    ),
    { token: true },
  ).action(async (id: string, options: SourceOptions) => {
    await withSource(options, io, async (source) => {
      const initial = await source.report(id);
      io.stderr(`watching execution ${id} (${initial.workflow}): ${initial.status}\n`);
      const progress = new Progress(io, Object.keys(initial.tasks).length);
      try {
        await source.follow(id, (events) => progress.onEvents(presentEvents(events)));
      } finally {
        progress.stop();
      }
      const report = await source.report(id);
      if (options.json) io.stdout(`${JSON.stringify(report)}\n`);
      else {
        io.stderr(formatReport(report));
        if (report.status === "succeeded") io.stdout(`${JSON.stringify(report.output ?? null, null, 2)}\n`);
      }
      setExit(report.status === "succeeded" ? ExitCode.ok : ExitCode.failed);
    });
  });
}
