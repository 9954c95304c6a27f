/**
 * `weft resume` never reclaims a live run: a `weft run` started in a PID namespace of its own
 * (as in a container with the host's hostname) holds a running task, and a `weft resume` from
 * the host must leave it alone, although the owner's pid names no process the host can see.
 * Real processes, `unshare --pid` (the tests run as root), one SQLite file.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isDeadLocalOwner, ownerName } from "../../src/runtime/runtime.js";
import { runWeft, waitFor, WEFT_BIN } from "../helpers/cli.js";

/**
 * A pid no process of the host has, and that the host will not hand out soon: pids are given
 * out upwards from the last one, so a free pid below it stays free until they wrap around.
 */
function pidFreeOnTheHost(): number {
  const last = Number(readFileSync("/proc/sys/kernel/ns_last_pid", "utf8"));
  for (let pid = last - 1; pid > 300; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
  throw new Error(`no free pid below the host's last pid ${last}`);
}

describe("liveness across PID namespaces (real processes)", () => {
  it("weft resume from the host does not reclaim the running task of a weft run in another PID namespace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-pidns-"));
    writeFileSync(
      join(dir, "flow.yaml"),
      [
        "name: namespaced",
        "tasks:",
        "  slow:",
        "    action: shell",
        '    with: { command: "echo slow >> side-effects.log && sleep 3" }',
        "",
      ].join("\n"),
    );
    const store = `sqlite:${join(dir, "weft.db")}`;
    const log = join(dir, "side-effects.log");
    const bodies = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").length : 0);

    // Inside the namespace, weft gets a pid that is free on the host: the old test of liveness
    // (same hostname, kill(pid, 0) says ESRCH) would judge it dead.
    const pid = pidFreeOnTheHost();
    const inner = spawn(
      "unshare",
      [
        "--pid",
        "--fork",
        "--mount-proc",
        "sh",
        "-c",
        `echo ${pid - 1} > /proc/sys/kernel/ns_last_pid; "$0" "$1" run flow.yaml --store "$2" & wait $!`,
        process.execPath,
        WEFT_BIN,
        store,
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    inner.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const innerDone = new Promise<number | null>((resolve) => inner.on("close", (code) => resolve(code)));
    await waitFor(() => bodies() >= 1, 20_000, "the task to start inside the namespace");
    const id = /execution (\S+) started/.exec(stderr)?.[1];
    expect(id).toBeDefined();

    const before = JSON.parse(
      (await runWeft(["events", id!, "--json", "--store", store], { cwd: dir })).stdout,
    ) as { type: string; worker?: string }[];
    const owner = before.find((event) => event.type === "task:started")?.worker;
    expect(owner).toContain(`:${pid}:`);
    expect(existsSync(`/proc/${pid}`)).toBe(false);

    const resumed = await runWeft(["resume", id!, "--json", "--store", store], { cwd: dir });
    expect(resumed.stderr).not.toContain("reclaimed");
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      status: "succeeded",
      tasks: { slow: { status: "succeeded", attempts: 1 } },
    });
    expect(await innerDone).toBe(0);
    expect(bodies()).toBe(1);
    const events = JSON.parse(
      (await runWeft(["events", id!, "--json", "--store", store], { cwd: dir })).stdout,
    ) as { type: string }[];
    expect(events.map((event) => event.type)).not.toContain("lease:expired");
  }, 60_000);
});

describe("isDeadLocalOwner", () => {
  it("judges dead only a vanished process of this host, boot and PID namespace", async () => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => child.on("exit", resolve));
    // The owner name the child would have had: ours with its pid.
    const [kind, rest] = ownerName("worker").split("@") as [string, string];
    const [host, , tag, pidNamespace, boot] = rest.split(":");
    const named = (pid: number, ns = pidNamespace, bootId = boot) =>
      `${kind}@${host}:${pid}:${tag}:${ns}:${bootId}`;
    expect(isDeadLocalOwner(named(child.pid!))).toBe(true);
    expect(isDeadLocalOwner(named(process.pid))).toBe(false);
    expect(isDeadLocalOwner(named(process.ppid))).toBe(false);
    // Another PID namespace, another boot, another host, an older Weft's name: wait for the lease.
    expect(isDeadLocalOwner(named(child.pid!, "1"))).toBe(false);
    expect(isDeadLocalOwner(named(child.pid!, pidNamespace, "0123456789abcdef"))).toBe(false);
    expect(isDeadLocalOwner(`${kind}@elsewhere:${child.pid}:${tag}:${pidNamespace}:${boot}`)).toBe(false);
    expect(isDeadLocalOwner(`${kind}@${host}:${child.pid}:${tag}`)).toBe(false);
  });
});
