/**
 * Outages of the embedded store, for real: another process holds the SQLite write lock for 10 s,
 * and the disk under the store fills up (a small tmpfs) and is freed, while a `weft run` works.
 * The run must wait, say so once, and finish with every body run once.
 */
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { startWeft, waitFor } from "../helpers/cli.js";

const TASKS = ["t1", "t2", "t3", "t4"];

/** A chain whose bodies append their name to ../effects.log (outside the store's disk), then work. */
function chain(name: string, seconds: number): string {
  const lines = [`name: ${name}`, "tasks:"];
  TASKS.forEach((task, i) => {
    lines.push(`  ${task}:`, "    action: shell");
    if (i > 0) lines.push(`    after: [${TASKS[i - 1]}]`);
    lines.push(`    with: { command: "echo ${task} >> ${"effects.log"} && sleep ${seconds}" }`);
  });
  return `${lines.join("\n")}\n`;
}

function effects(dir: string): string[] {
  const file = join(dir, "effects.log");
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
}

function expectCleanRun(result: { code: number | null; stderr: string }, dir: string): void {
  expect(result.stderr).not.toMatch(/internal error|^\s+at /m);
  expect(result.code).toBe(0);
  // Every body ran exactly once, in order.
  expect(effects(dir)).toEqual(TASKS);
}

describe("SQLite outages (real processes)", () => {
  it("waits out a write lock another process holds for 10 s during weft run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-lock-"));
    writeFileSync(join(dir, "flow.yaml"), chain("locked", 0.5));
    const db = join(dir, "weft.db");
    const run = startWeft(["run", "flow.yaml", "--store", `sqlite:${db}`], { cwd: dir });
    await waitFor(() => effects(dir).length >= 1, 20_000, "the first body to start");

    // Another process takes the write lock while t1's body works, and keeps it for 10 s.
    const holder = spawn(
      process.execPath,
      [
        "-e",
        `const db = new (require("better-sqlite3"))(${JSON.stringify(db)}, { timeout: 5000 });
         db.exec("BEGIN IMMEDIATE"); console.log("locked");
         setTimeout(() => { db.exec("COMMIT"); db.close(); }, 10000);`,
      ],
      { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    const released = new Promise((resolve) => holder.on("exit", resolve));

    const result = await run.done;
    await released;
    expectCleanRun(result, dir);
    expect(result.stderr).toMatch(
      /another process has held its write lock for \d+ ms.*Retrying with backoff/,
    );
    expect(result.stderr).toMatch(/reachable again after/);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("waits out a full disk under the store, then finishes once space is back, nothing corrupted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-full-"));
    const disk = join(dir, "disk");
    mkdirSync(disk);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", disk]);
    } catch (error) {
      throw new Error(`This test mounts a small tmpfs and needs root: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      writeFileSync(join(dir, "flow.yaml"), chain("full", 1));
      const db = join(disk, "weft.db");
      const run = startWeft(["run", "flow.yaml", "--store", `sqlite:${db}`], { cwd: dir });
      await waitFor(() => effects(dir).length >= 2, 20_000, "the second body to start");

      // Fill the disk while t2's body works: its outcome cannot be committed.
      const filler = join(disk, "filler");
      try {
        writeFileSync(filler, Buffer.alloc(16 * 1024 * 1024));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
      }
      await waitFor(() => /the store's disk is full/.test(run.output.stderr), 20_000, "the disk-full line");
      expect(run.child.exitCode).toBeNull();
      rmSync(filler);

      const result = await run.done;
      expectCleanRun(result, dir);
      expect(result.stderr).toMatch(/reachable again after/);
      const check = new Database(db, { readonly: true });
      expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
      check.close();
    } finally {
      execFileSync("umount", ["-l", disk]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
