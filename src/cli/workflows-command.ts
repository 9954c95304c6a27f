/** `weft workflows`: the registered workflow definitions, from the store or a server. */
import type { Command } from "commander";
import { openStore } from "../runtime/open-store.js";
import { apiPath, callApi, serverTarget, withServerOption } from "./client.js";
import type { CliIO } from "./io.js";
import { storeUrl, withStoreOption } from "./store-option.js";

/** One registered workflow, as `GET /v1/workflows` answers it: its highest version. */
interface WorkflowRow {
  name: string;
  version: number;
  description?: string;
  tasks: number;
  origin: string;
  createdAt: string;
}

/** Adds `weft workflows [--json]` (with `--store` or `--server`). */
export function registerWorkflows(program: Command, io: CliIO): void {
  withServerOption(
    withStoreOption(
      program
        .command("workflows")
        .description("list registered workflows (the highest version of each), as weft start registers them")
        .option("--json", "print a JSON array"),
    ),
    { token: true },
  ).action(async (options: { json?: boolean; store?: string; server?: string; token?: string }) => {
    const server = serverTarget(options, io);
    let rows: WorkflowRow[];
    if (server) {
      rows = (await callApi<{ workflows: WorkflowRow[] }>(server, "GET", apiPath("workflows"))).workflows;
    } else {
      const store = await openStore(storeUrl(options, io), io.cwd);
      try {
        rows = (await store.listWorkflows()).map((record) => ({
          name: record.name,
          version: record.version,
          ...(record.spec.description ? { description: record.spec.description } : {}),
          tasks: Object.keys(record.spec.tasks).length,
          origin: record.origin,
          createdAt: new Date(record.createdAt).toISOString(),
        }));
      } finally {
        await store.close();
      }
    }
    if (options.json) {
      io.stdout(`${JSON.stringify(rows)}\n`);
      return;
    }
    if (rows.length === 0) io.stderr("no workflows registered (weft start FILE registers one)\n");
    for (const row of rows)
      io.stdout(
        `${row.name.padEnd(20)} v${String(row.version).padEnd(4)} ${String(row.tasks).padStart(3)} tasks  ${row.createdAt}${row.description ? `  ${row.description}` : ""}\n`,
      );
  });
}
