/**
 * Crash safety on the embedded store: a real `weft run` process is killed with SIGKILL in the
 * middle of a workflow, then `weft resume` finishes it from what the SQLite file holds.
 */
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

const TASKS = ["t1", "t2", "t3", "t4", "t5", "t6"];

function chainWorkflow(): string {
  // An interrupted attempt counts as a failed one: the retry policy must allow another.
  const lines = ["name: crash-chain", "defaults:", "  retry: { attempts: 3, backoff: 50ms }", "tasks:"];
  TASKS.forEach((name, i) => {
    lines.push(`  ${name}:`, "    action: shell");
    if (i > 0) lines.push(`    after: [${TASKS[i - 1]}]`);
    // The side effect first, then the work: a kill during the sleep interrupts a started attempt.
    lines.push(`    with: { command: "echo ${name} >> side-effects.log && sleep 0.4" }`);
  });
  return `${lines.join("\n")}\n`;
}

describe("crash safety (SQLite, real processes)", () => {
  it("resumes an execution whose weft run was killed with SIGKILL, without re-running completed tasks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-crash-"));
    writeFileSync(join(dir, "flow.yaml"), chainWorkflow());
    const store = `sqlite:${join(dir, "weft.db")}`;
    const log = join(dir, "side-effects.log");
    const lines = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);

    const run = startWeft(["run", "flow.yaml", "--store", store], { cwd: dir });
    await waitFor(() => lines().length >= 3, 20_000, "three tasks to start");
    run.child.kill("SIGKILL");
    const killed = await run.done;
    expect(killed.signal).toBe("SIGKILL");
    const id = /execution (\S+) started/.exec(killed.stderr)?.[1];
    expect(id).toBeDefined();

    const before = JSON.parse(
      (await runWeft(["status", id!, "--json", "--store", store], { cwd: dir })).stdout,
    );
    expect(before.status).toBe("running");
    const completedBefore = Object.entries(before.tasks as Record<string, { status: string }>)
      .filter(([, task]) => task.status === "succeeded")
      .map(([name]) => name);
    const interrupted = Object.entries(before.tasks as Record<string, { status: string }>).find(
      ([, task]) => task.status === "running",
    )?.[0];
    expect(completedBefore.length).toBeGreaterThanOrEqual(2);
    expect(interrupted).toBeDefined();

    const resumed = await runWeft(["resume", id!, "--json", "--store", store], { cwd: dir });
    expect(resumed.stderr).toContain("reclaimed 1 run(s) of a dead process");
    expect(resumed.code).toBe(0);
    const after = JSON.parse(resumed.stdout);
    expect(after.status).toBe("succeeded");
    for (const name of TASKS) expect(after.tasks[name].status).toBe("succeeded");

    // Completed tasks ran once; the interrupted one ran again (at-least-once); the rest once.
    const counts = new Map<string, number>();
    for (const line of lines()) counts.set(line, (counts.get(line) ?? 0) + 1);
    for (const name of completedBefore) expect(counts.get(name)).toBe(1);
    expect(counts.get(interrupted!)).toBe(2);
    expect(after.tasks[interrupted!].attempts).toBe(2);

    // The history shows the interrupted attempt.
    const events = JSON.parse(
      (await runWeft(["events", id!, "--json", "--store", store], { cwd: dir })).stdout,
    ) as { type: string; task?: string; attempt?: number }[];
    expect(events).toContainEqual(
      expect.objectContaining({ type: "lease:expired", task: interrupted, attempt: 1 }),
    );
  }, 60_000);
});
