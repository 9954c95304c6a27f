/**
 * `weft server --workers 0` (serve with no worker slots) on PostgreSQL still does its share of
 * the watchdog: a workflow timeout fails the execution even when no worker process runs at all.
 */
import { afterAll, describe, expect, it } from "vitest";
import { serve, type RunningServer } from "../../src/api/index.js";
import { parseWorkflow } from "../../src/definition/index.js";
import { waitFor } from "../helpers/cli.js";
import { usePostgresSchemas } from "../helpers/postgres.js";

const pg = usePostgresSchemas("serve_reaper");
let server: RunningServer | undefined;
afterAll(async () => server?.close());

describe("a server without worker slots", () => {
  it("fails an execution at its workflow timeout though no worker runs its tasks", async () => {
    server = await serve({ store: pg.url({}, pg.fresh("reaper")), port: 0, workers: 0 });
    const spec = parseWorkflow(
      "name: lonely\ntimeout: 300ms\ntasks:\n  wait: { action: sleep, with: { duration: 1h } }\n",
      "lonely.yaml",
    );
    const { execution } = await server.runtime.engine.start(spec, {});
    await waitFor(
      async () => (await server!.runtime.store.getExecution(execution.id))?.status === "failed",
      10_000,
      "the workflow timeout to fail the execution",
    );
    const ended = await server.runtime.store.getExecution(execution.id);
    expect(ended!.error).toMatchObject({ type: "Timeout" });
    // Nothing ran it: the task never started.
    const [run] = (await server.runtime.store.listRuns(execution.id)).filter((r) => r.task === "wait");
    expect(run!.attempt).toBe(0);
  });
});
