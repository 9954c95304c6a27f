/**
 * An outcome the store cannot hold (an output JSON cannot represent) must fail its own task with
 * a clear error, and nothing else: the other outcomes of the same batch are recorded, and the
 * worker goes on serving. Real SQLite and PostgreSQL stores, real builder functions.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { workflow } from "../../src/definition/builder.js";
import type { Store } from "../../src/engine/store.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { openStore } from "../../src/runtime/open-store.js";
import { usePostgresSchemas } from "../helpers/postgres.js";

const pg = usePostgresSchemas("refused");
const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
});

const opened: Record<string, () => Promise<Store>> = {
  sqlite: () => openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), "weft-refused-")), "weft.db")}`),
  postgres: () => openStore(pg.url({}, pg.fresh("refused"))),
};

describe.each(Object.keys(opened))("outcomes the %s store refuses", (name) => {
  it("fail their own task with the reason; siblings in the same batch and later executions go on", async () => {
    const store = await opened[name]!();
    stores.push(store);
    const runtime = await createRuntime({ store, concurrency: 4 });
    let bodies = 0;
    const flow = workflow("refused")
      .task("circular", {}, () => {
        bodies++;
        const output: Record<string, unknown> = {};
        output.self = output;
        return output;
      })
      .task("big", {}, () => {
        bodies++;
        return { n: 10n } as unknown as number;
      })
      .task("fine", {}, () => {
        bodies++;
        return 1;
      });
    const execution = await runtime.run(flow);
    expect(execution.status).toBe("failed");
    const runs = Object.fromEntries((await store.listRuns(execution.id)).map((run) => [run.task, run]));
    expect(runs.fine!.status).toBe("succeeded");
    expect(runs.fine!.output).toBe(1);
    for (const task of ["circular", "big"]) {
      expect(runs[task]!.status).toBe("failed");
      expect(runs[task]!.error).toMatchObject({ type: "OutcomeRefused", retryable: false });
      expect(runs[task]!.error!.message).toMatch(
        /the outcome of attempt 1 could not be recorded: .*(circular|BigInt)/i,
      );
    }
    expect(bodies).toBe(3);

    const after = await runtime.run(workflow("after").task("ok", {}, () => "still serving"));
    expect(after.status).toBe("succeeded");
  });
});
