/** `--allow-actions` and `--allow-hosts` (and their variables) are checked before a server or worker starts. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
