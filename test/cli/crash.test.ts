/**
 * Crash safety on the embedded store: a real `weft run` process is killed with SIGKILL in the
 * middle of a workflow, then `weft resume` finishes it from what the SQLite file holds. An
 * interrupted attempt is not a failed one: the default retry policy (one attempt) is enough.
 */
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runWeft, startWeft, waitFor } from "../helpers/cli.js";

const TASKS = ["t1", "t2", "t3", "t4", "t5", "t6"];

function chainWorkflow(): string {
  // No retry policy: the default (one attempt) must survive the kill.
  const lines = ["name: crash-chain", "tasks:"];
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

    // The history shows the interrupted attempt, then the next one succeeding.
    const events = JSON.parse(
      (await runWeft(["events", id!, "--json", "--store", store], { cwd: dir })).stdout,
    ) as { type: string; task?: string; attempt?: number }[];
    const ofInterrupted = events
      .filter((event) => event.task === interrupted && event.type !== "task:ready")
      .map((event) => `${event.type}#${event.attempt}`);
    expect(ofInterrupted).toEqual([
      "task:started#1",
      "lease:expired#1",
      "task:retrying#1",
      "task:started#2",
      "task:succeeded#2",
    ]);
  }, 60_000);

  it("fails a task that kills its process every time once its worker was lost more than retry.interruptions times", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-crash-"));
    const flow = [
      "name: suicidal",
      "tasks:",
      "  boom:",
      "    action: shell",
      "    retry: { attempts: 5, interruptions: 2 }",
      // $PPID is the weft process that runs the task.
      '    with: { command: "echo boom >> side-effects.log && kill -9 $PPID" }',
    ];
    writeFileSync(join(dir, "flow.yaml"), `${flow.join("\n")}\n`);
    const store = `sqlite:${join(dir, "weft.db")}`;
    const log = join(dir, "side-effects.log");
    const bodies = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").length : 0);

    const first = await runWeft(["run", "flow.yaml", "--store", store], { cwd: dir });
    expect(first.signal).toBe("SIGKILL");
    const id = /execution (\S+) started/.exec(first.stderr)?.[1];
    expect(id).toBeDefined();
    // Interruptions 1 and 2 are run again (each resume is killed in turn)...
    for (let resume = 1; resume <= 2; resume++) {
      const killed = await runWeft(["resume", id!, "--store", store], { cwd: dir });
      expect(killed.signal).toBe("SIGKILL");
      expect(killed.stderr).toContain("reclaimed 1 run(s) of a dead process");
    }
    // ...the third is one too many: the task fails without running again, despite attempts left.
    const last = await runWeft(["resume", id!, "--json", "--store", store], { cwd: dir });
    expect(last.code).toBe(1);
    const report = JSON.parse(last.stdout);
    expect(report.status).toBe("failed");
    expect(report.tasks.boom).toMatchObject({ status: "failed", attempts: 3 });
    expect(report.tasks.boom.error.message).toContain(
      "its worker was lost 3 times, more than retry.interruptions (2) allows",
    );
    expect(bodies()).toBe(3);
  }, 60_000);
});
