/** `--allow-actions` and `--allow-hosts` (and their variables) are checked before a server or worker starts. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseWorkflow } from "../../src/definition/index.js";
import { Engine } from "../../src/engine/engine.js";
import { Origin } from "../../src/engine/store.js";
import { SqliteStore } from "../../src/stores/sqlite/sqlite-store.js";
import { runWeft } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "weft-policy-flags-"));
const env = { WEFT_ALLOW_ACTIONS: "", WEFT_ALLOW_HOSTS: "", WEFT_API_TOKEN: "" };

describe("policy flags", { timeout: 30_000 }, () => {
  it("weft server refuses an unknown action and exits 2, naming it", async () => {
    const result = await runWeft(
      ["server", "--store", "memory:", "--port", "0", "--allow-actions", "noop,shel"],
      {
        cwd: dir,
        env,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--allow-actions names "shel", which is no action');
    expect(result.stderr).not.toMatch(/\bat \S+:\d+/);
  });

  it("weft worker reads WEFT_ALLOW_HOSTS and refuses an entry that is no host", async () => {
    const result = await runWeft(["worker", "--store", "memory:"], {
      cwd: dir,
      env: { ...env, WEFT_ALLOW_HOSTS: "https://api.example.com/" },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--allow-hosts has "https://api.example.com/", which is no host name');
  });
});

describe("weft start", { timeout: 30_000 }, () => {
  it("keeps a registered version's origin (NAME), and trusts a file it read itself (FILE)", async () => {
    const file = join(dir, "weft.db");
    const yaml = "name: echoes\ntasks:\n  say:\n    action: echo\n    with: { message: hi }\n";
    writeFileSync(join(dir, "echoes.yaml"), yaml);
    const setup = SqliteStore.open(file);
    await new Engine(setup).registerWorkflow(parseWorkflow(yaml, "echoes.yaml"), Origin.http);
    await setup.close();

    const byName = await runWeft(["start", "echoes", "--store", `sqlite:${file}`], { cwd: dir, env });
    const byFile = await runWeft(["start", "echoes.yaml", "--store", `sqlite:${file}`], { cwd: dir, env });
    expect([byName.code, byFile.code]).toEqual([0, 0]);
    const store = SqliteStore.open(file);
    try {
      expect((await store.getExecution(byName.stdout.trim()))?.origin).toBe("http");
      expect((await store.getExecution(byFile.stdout.trim()))?.origin).toBe("direct");
    } finally {
      await store.close();
    }
  });
});
