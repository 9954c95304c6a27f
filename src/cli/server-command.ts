/**
 * `weft server`: the HTTP API, plus worker slots in-process (`--workers`), so that one process
 * serves a small deployment. Stops gracefully on SIGTERM or SIGINT.
 */
import type { Command } from "commander";
import { compileRunPolicy } from "../actions/run-policy.js";
import { parseDuration } from "../shared/durations.js";
import { InvalidInputError } from "../shared/errors.js";
import { StoreOutage } from "../worker/store-outage.js";
import { CliExit, ExitCode, stderrLogger, type CliIO } from "./io.js";
import { storeUrl, withStoreOption } from "./store-option.js";

interface ServerCommandOptions {
  store?: string;
  host: string;
  port: string;
  publicUrl?: string;
  workers?: string;
  token?: string;
  bodyLimit?: string;
  cors?: string[];
  grace: string;
  allowActions?: string;
  allowHosts?: string;
}

function wholeNumber(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max)
    throw new InvalidInputError(`${flag} must be a whole number from ${min} to ${max}, got "${text}".`);
  return value;
}

/** Hosts that mean "every interface": no one can call back to them. */
const WILDCARD_HOSTS = ["0.0.0.0", "::", "[::]"];

/** PostgreSQL deployments run workers as their own processes; everything else gets 4 slots here. */
export function defaultWorkers(url: string): number {
  return /^postgres(ql)?:\/\//.test(url) ? 0 : 4;
}

function checkUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:") return text.replace(/\/+$/, "");
  } catch {
    // Answered below.
  }
  throw new InvalidInputError(`--public-url must be an http:// or https:// URL, got "${text}".`);
}

export function registerServer(program: Command, io: CliIO): void {
  withStoreOption(
    program
      .command("server")
      .description("serve the HTTP API (and run worker slots in-process) until stopped (SIGTERM or SIGINT)")
      .option("--host <host>", "interface to bind; anything but loopback needs a token", "127.0.0.1")
      .option("--port <port>", "TCP port (0: any free port)", "8080")
      .option(
        "--public-url <url>",
        "where third parties reach this server: the base of callback URLs (default http://HOST:PORT)",
      )
      .option("--workers <n>", "worker slots in this process (default 0 on PostgreSQL, else 4)")
      .option("--token <token>", "bearer token for management endpoints (default: $WEFT_API_TOKEN)")
      .option("--body-limit <bytes>", "largest request body (default 1048576)")
      .option("--cors <origin...>", "allow browsers from these origins, * for any (default: CORS off)")
      .option("--grace <duration>", "on SIGTERM, how long running tasks may finish", "10s")
      .option(
        "--allow-actions <list>",
        "actions definitions sent over HTTP may use, comma-separated, * for all (default: $WEFT_ALLOW_ACTIONS, else all but shell and js)",
      )
      .option(
        "--allow-hosts <list>",
        "hosts, addresses and ranges http tasks of the in-process workers may reach, * for any (default: $WEFT_ALLOW_HOSTS, else all but link-local and metadata)",
      ),
  ).action(async (options: ServerCommandOptions) => {
    const url = storeUrl(options, io);
    const allowActions = [options.allowActions ?? io.env.WEFT_ALLOW_ACTIONS ?? ""];
    const allowHosts = [options.allowHosts ?? io.env.WEFT_ALLOW_HOSTS ?? ""];
    compileRunPolicy({ allowActions, allowHosts }); // bad entries are refused before anything starts
    const graceMs = parseDuration(options.grace);
    if (graceMs === undefined)
      throw new InvalidInputError(`--grace must be a duration like 10s, got "${options.grace}".`);
    const workers =
      options.workers === undefined
        ? defaultWorkers(url)
        : wholeNumber("--workers", options.workers, 0, 1024);
    const logger = stderrLogger(io);
    // Loaded on demand: Fastify and prom-client are only needed by this command, not by every
    // `weft status`. (cli/ and api/ are both composition roots; this is the one place cli starts api.)
    const { serve } = await import("../api/index.js");
    let server;
    try {
      // A server started before its database (or during a restart) waits for it.
      const opening = new StoreOutage(logger, "weft server");
      server = await opening.retry(() =>
        serve({
          store: url,
          cwd: io.cwd,
          host: options.host,
          port: wholeNumber("--port", options.port, 0, 65_535),
          publicUrl: options.publicUrl === undefined ? undefined : checkUrl(options.publicUrl),
          workers,
          token: options.token ?? (io.env.WEFT_API_TOKEN || undefined),
          bodyLimit:
            options.bodyLimit === undefined ? undefined : wholeNumber("--body-limit", options.bodyLimit, 1),
          cors: options.cors,
          graceMs,
          logger,
          allowActions,
          allowHosts,
        }),
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL")
        throw new CliExit(
          ExitCode.invalid,
          `weft: cannot listen on ${options.host}:${options.port}: ${code}.`,
        );
      throw error;
    }
    io.stderr(`weft server listening on ${server.url}\n`);
    if (options.publicUrl === undefined && WILDCARD_HOSTS.includes(options.host)) {
      // Third parties need an address that reaches this host, which "every interface" is not.
      io.stderr(
        `weft server: warning: callback URLs point at ${server.publicUrl}; give --public-url with an address third parties reach\n`,
      );
    }
    io.stderr(
      `weft server: ${workers} worker slot(s); callbacks at ${server.publicUrl}/v1/callbacks/; store ${url.replace(/\/\/[^@/]*@/, "//")}\n`,
    );
    const running = server;
    await new Promise<void>((done) => {
      const stop = (signal: string) => {
        process.off("SIGTERM", onTerm);
        process.off("SIGINT", onInt);
        io.stderr(`weft server: ${signal}, stopping\n`);
        void running.close().then(() => {
          io.stderr("weft server stopped\n");
          done();
        });
      };
      const onTerm = () => stop("SIGTERM");
      const onInt = () => stop("SIGINT");
      process.on("SIGTERM", onTerm);
      process.on("SIGINT", onInt);
    });
  });
}
