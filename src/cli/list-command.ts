/** `weft list`: executions, newest first, from the store or a server's pages. */
import type { Command } from "commander";
import type { ExecutionStatus } from "../engine/states.js";
import { openStore } from "../runtime/open-store.js";
import { InvalidInputError } from "../shared/errors.js";
import { apiPath, callApi, serverTarget, withServerOption } from "./client.js";
import type { CliIO } from "./io.js";
import { storeUrl, withStoreOption } from "./store-option.js";

/** One row of `weft list`. */
interface ListRow {
  id: string;
  workflow: string;
  status: string;
  createdAt: string;
}

function parseLimit(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidInputError(`--limit must be a whole number >= 1, got "${text}".`);
  return value;
}

const STATUSES: readonly ExecutionStatus[] = [
  "pending",
  "running",
  "compensating",
  "succeeded",
  "failed",
  "cancelled",
];

interface ListOptions {
  status?: string;
  workflow?: string;
  limit?: string;
  json?: boolean;
  store?: string;
  server?: string;
  token?: string;
}

/** Adds `weft list [--status S] [--workflow W] [--limit N] [--json]` (with `--store` or `--server`). */
export function registerList(program: Command, io: CliIO): void {
  withServerOption(
    withStoreOption(
      program
        .command("list")
        .description("list executions, newest first")
        .option("--status <status>", `only this status (${STATUSES.join(", ")})`)
        .option("--workflow <name>", "only this workflow")
        .option("--limit <n>", "at most n executions (default 50)")
        .option("--json", "print a JSON array"),
    ),
    { token: true },
  ).action(async (options: ListOptions) => {
    if (options.status !== undefined && !STATUSES.includes(options.status as ExecutionStatus)) {
      throw new InvalidInputError(`--status must be one of ${STATUSES.join(", ")}, got "${options.status}".`);
    }
    const limit = options.limit === undefined ? 50 : parseLimit(options.limit);
    const rows = await listRows(options, limit);
    if (options.json) io.stdout(`${JSON.stringify(rows)}\n`);
    else
      for (const row of rows)
        io.stdout(`${row.id}  ${row.status.padEnd(12)} ${row.workflow.padEnd(20)} ${row.createdAt}\n`);
  });

  /** The rows of `weft list`, from the server's pages or the store. */
  async function listRows(options: ListOptions, limit: number): Promise<ListRow[]> {
    const server = serverTarget(options, io);
    if (!server) {
      const store = await openStore(storeUrl(options, io), io.cwd);
      try {
        const executions = await store.listExecutions({
          status: options.status as ExecutionStatus | undefined,
          workflow: options.workflow,
          limit,
        });
        return executions.map((e) => ({
          id: e.id,
          workflow: e.workflow,
          status: e.status,
          createdAt: new Date(e.createdAt).toISOString(),
        }));
      } finally {
        await store.close();
      }
    }
    const rows: ListRow[] = [];
    let cursor: string | null = null;
    // The server answers pages of at most its own maximum: follow its cursor until `limit` rows.
    do {
      const query = new URLSearchParams({ limit: String(Math.min(limit - rows.length, 100)) });
      if (options.status !== undefined) query.set("status", options.status);
      if (options.workflow !== undefined) query.set("workflow", options.workflow);
      if (cursor !== null) query.set("cursor", cursor);
      const page: { executions: ListRow[]; nextCursor: string | null } = await callApi(
        server,
        "GET",
        `${apiPath("executions")}?${query.toString()}`,
      );
      for (const e of page.executions)
        rows.push({ id: e.id, workflow: e.workflow, status: e.status, createdAt: e.createdAt });
      cursor = page.nextCursor;
    } while (cursor !== null && rows.length < limit);
    return rows;
  }
}
