/**
 * Living executions on PostgreSQL with two `weft worker` processes: ten executions of
 * examples/provision.yaml are updated while a body of their first traversal runs, then updated
 * to a definition that fails with rollbackOnFailure. Every body and undo logs itself in the
 * execution's own directory, so the test counts exactly what ran, once.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadWorkflowFile } from "../../src/definition/index.js";
import { Engine } from "../../src/engine/engine.js";
import type { Store } from "../../src/engine/store.js";
import { openStore } from "../../src/runtime/open-store.js";
import { startWeft, waitFor } from "../helpers/cli.js";
import { pgFixture, type PgFixture } from "./pg-fixture.js";

const EXAMPLES = join(import.meta.dirname, "../../examples");
let fixture: PgFixture;
let store: Store;
let engine: Engine;
const workers: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), "weft-living-pg-"));

beforeAll(async () => {
  fixture = await pgFixture("living");
  store = await openStore(fixture.url);
  engine = new Engine(store);
  for (let i = 0; i < 2; i++) {
    const { child } = startWeft(["worker", "--store", fixture.url, "--concurrency", "8", "--quiet"], {
      cwd: dir,
    });
    workers.push(child);
  }
});

afterAll(async () => {
  for (const child of workers) child.kill("SIGKILL");
  await store?.close();
  await fixture?.drop();
});

const log = (res: string) => readFileSync(join(res, "log"), "utf8").trim().split("\n");

async function allHave(ids: readonly string[], status: string): Promise<boolean> {
  for (const id of ids) if ((await store.getExecution(id))?.status !== status) return false;
  return true;
}

describe("living executions on PostgreSQL (two worker processes)", () => {
  it("updates land while old bodies run; each new traversal completes; a failed update rolls itself back", async () => {
    const gate = join(dir, "go");
    writeFileSync(
      join(dir, "slow.yaml"),
      readFileSync(join(EXAMPLES, "provision.yaml"), "utf8").replace(
        "echo small on",
        `until [ -e '${gate}' ]; do sleep 0.05; done; echo small on`,
      ),
    );
    const v1 = await loadWorkflowFile(join(dir, "slow.yaml"));
    const v2 = await loadWorkflowFile(join(EXAMPLES, "provision-v2.yaml"));
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push((await engine.start(v1, { dir: join(dir, `res-${i}`) })).execution.id);
    const serverRuns = async () =>
      (await Promise.all(ids.map((id) => store.listRuns(id)))).flat().filter((run) => run.task === "server");
    await waitFor(
      async () => (await serverRuns()).filter((run) => run.status === "running").length === ids.length,
      60_000,
      "every server body to run",
    );
    for (const id of ids) await engine.update(id, v2);
    writeFileSync(gate, "");
    await waitFor(() => allHave(ids, "succeeded"), 60_000, "every execution to converge on v2");
    ids.forEach((_, i) => {
      // The old server's body finished and was undone once the new traversal succeeded.
      expect(log(join(dir, `res-${i}`))).toEqual([
        "create network",
        "create server-small",
        "create server-large",
        "create monitor",
        "undo server-small",
      ]);
    });

    // v3 adds a task that fails: with rollbackOnFailure each execution goes back to v2 by itself.
    const v3 = await loadWorkflowFile(join(EXAMPLES, "provision-v2.yaml"));
    v3.tasks.audit = { ...v3.tasks.monitor!, with: { command: "exit 3" }, undo: undefined };
    for (const id of ids) await engine.update(id, v3, { rollbackOnFailure: true });
    await waitFor(
      async () => {
        for (const id of ids) {
          const rows = await store.listTraversals(id);
          if (rows.at(-1)?.cause !== "rollback" || rows.at(-1)?.status !== "succeeded") return false;
        }
        return true;
      },
      60_000,
      "every failed update to roll back",
    );
    for (const [i, id] of ids.entries()) {
      const rows = await store.listTraversals(id);
      expect(rows.map((row) => [row.cause, row.status])).toEqual([
        ["start", "superseded"],
        ["update", "succeeded"],
        ["update", "failed"],
        ["rollback", "succeeded"],
      ]);
      expect((await store.getExecution(id))?.status).toBe("succeeded");
      // Nothing ran again: v3's tasks reused v2's versions, and the rollback reused them too.
      expect(log(join(dir, `res-${i}`))).toHaveLength(5);
    }
  }, 180_000);
});
