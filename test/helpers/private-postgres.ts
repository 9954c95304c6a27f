/**
 * A PostgreSQL cluster of a test's own, for tests that restart the server or terminate its
 * backends: `initdb` in a temp dir the `postgres` user can enter, started with `pg_ctl` on a
 * free loopback port, stopped by its pid file. The machine's shared server is never touched.
 *
 * @example
 * const server = await startPrivatePostgres();
 * await server.restart({ downMs: 1000 });
 * await server.destroy();
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

const HOW_TO_INSTALL =
  "Private clusters need the PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin, " +
  "Debian package postgresql) and root, to run them as the postgres user (runuser -u postgres).";

export interface PrivatePostgres {
  readonly port: number;
  /** A store URL on this cluster's `postgres` database, with query parameters. */
  url(params?: Record<string, string | number>): string;
  /** Stops the server (fast shutdown: sessions are terminated), waits `downMs`, starts it again. */
  restart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Terminates every backend whose application_name starts with `prefix`; answers how many. */
  terminateBackends(prefix?: string): Promise<number>;
  /** Stops the server (by its pid file) and deletes its files. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => join(root, v, "bin")).find((dir) => existsSync(join(dir, "initdb")));
  if (!found) throw new Error(`No initdb found under ${root}. ${HOW_TO_INSTALL}`);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Creates and starts a cluster; the caller destroys it (afterAll). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "weft-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  // The postgres user owns the directory: initdb refuses to run as root.
  const { uid, gid } = await postgresIds();
  chownSync(dir, uid, gid);
  const port = await freePort();
  const asPostgres = async (command: string, args: string[]) => {
    try {
      await run("runuser", ["-u", "postgres", "--", join(bin, command), ...args], { timeout: 60_000 });
    } catch (error) {
      const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "";
      throw new Error(`${command} failed: ${(error as Error).message}\n${tail}\n${HOW_TO_INSTALL}`, {
        cause: error,
      });
    }
  };
  await asPostgres("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const start = () => asPostgres("pg_ctl", ["-D", data, "-o", options, "-l", log, "-w", "-t", "30", "start"]);
  const stop = () => asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
  await start();
  let running = true;

  const server: PrivatePostgres = {
    port,
    url(params = {}) {
      const url = new URL(`postgres://postgres@127.0.0.1:${port}/postgres`);
      for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
      return url.toString();
    },
    async stop() {
      await stop();
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async restart({ downMs = 0 } = {}) {
      await server.stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await server.start();
    },
    async terminateBackends(prefix = "weft") {
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      try {
        const result = await client.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()",
          [`${prefix}%`],
        );
        return result.rowCount ?? 0;
      } finally {
        await client.end();
      }
    },
    async destroy() {
      const pidFile = join(data, "postmaster.pid");
      if (running && existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
        try {
          // SIGQUIT: immediate shutdown; the files are deleted next anyway.
          process.kill(pid, "SIGQUIT");
          for (let i = 0; i < 100 && existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
        } catch {
          // Already gone.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (error) {
    throw new Error(`There is no postgres user. ${HOW_TO_INSTALL}`, { cause: error });
  }
}
