/**
 * The PostgreSQL Store: state and the ready queue of any number of `weft worker` and
 * `weft server` processes on any number of hosts (DESIGN.md, "Defaults and scale").
 *
 * Each transaction takes a client from a pg.Pool, begins at the configured isolation level and
 * runs the engine's function with a StoreTx on that client. Serialization failures and
 * deadlocks (which PostgreSQL may raise at any level) roll back and run the function again:
 * the engine builds all of its state inside it, so a re-run starts clean. Transactions that
 * made runs claimable send a notification on commit; `subscribe` hears them (LISTEN).
 */
import pg from "pg";
import type {
  ExecutionEvent,
  ExecutionFilter,
  ExecutionRecord,
  Store,
  StoreCapabilities,
  StoreTx,
  TaskRunRecord,
  TraversalRecord,
  WorkflowRecord,
  ExecutionCounts,
} from "../../engine/store.js";
import { WeftError } from "../../shared/errors.js";
import { ExecutionCache } from "../execution-cache.js";
import { migrate, quoteIdent } from "./migrations.js";
import { asOutage } from "./outage.js";
import { PostgresTx } from "./postgres-tx.js";
import {
  parsePostgresUrl,
  redactPostgresUrl,
  type PostgresIsolation,
  type PostgresUrl,
} from "./postgres-url.js";
import { Queries } from "./queries.js";
import { READY_CHANNEL, ReadyListener } from "./ready-listener.js";
import { ServerClock } from "./server-clock.js";

export {
  parsePostgresUrl,
  redactPostgresUrl,
  PostgresIsolation,
  type PostgresSslMode,
  type PostgresUrl,
} from "./postgres-url.js";

/**
 * Options of `PostgresStore.open` beyond the URL. Where the data lives and how it is reached
 * (schema, isolation, pool, poll, TLS) is the URL's alone, so one string says it all.
 */
export interface PostgresStoreOptions {
  /** Default 20: how many times one transaction runs before a conflict is given up and thrown. */
  maxAttempts?: number;
  /** Default "weft": what `pg_stat_activity` shows; the LISTEN connection adds " listener". */
  applicationName?: string;
  /** Called before a transaction that hit a conflict runs again (logging, metrics, tests). */
  onRetry?: (error: Error, attempt: number) => void;
  /** Told about background connection errors (idle pool clients, the LISTEN connection); they are retried. */
  onError?: (error: Error) => void;
}

/** The settings in force, compiled once from the URL and the options. */
export interface PostgresSettings {
  /** The URL with its password hidden. */
  readonly url: string;
  readonly schema: string;
  readonly isolation: PostgresIsolation;
  readonly pool: number;
  readonly pollMs: number;
  readonly maxAttempts: number;
}

const BEGIN: Record<PostgresIsolation, string> = {
  read_committed: "BEGIN ISOLATION LEVEL READ COMMITTED",
  repeatable_read: "BEGIN ISOLATION LEVEL REPEATABLE READ",
  serializable: "BEGIN ISOLATION LEVEL SERIALIZABLE",
};

/** bigint columns hold epoch ms and event ids, far below 2^53: numbers, not the driver's strings. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 && format !== "binary"
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * Whether an error is a conflict with a concurrent transaction, cured by running again:
 * "always" for serialization failures and deadlocks; "once" for two registrations of one
 * workflow version (the re-run sees the other's row and answers it; a duplicate that was
 * there all along fails again at once, rather than twenty times).
 */
function conflictKind(error: unknown): "always" | "once" | null {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  if (code === "40001" || code === "40P01") return "always";
  return code === "23505" && constraint === "workflows_pkey" ? "once" : null;
}

/** One run of a transaction: committed, or rolled back with whether to run it again. */
type AttemptOutcome<T> =
  { ok: true; value: T } | { ok: false; error: unknown; conflict: ReturnType<typeof conflictKind> };

/** How long taking a connection may wait before the server counts as unavailable. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A Store on one schema of a PostgreSQL database.
 *
 * @example
 * const store = await PostgresStore.open("postgres://weft@db:5432/weft?schema=prod&pool=20");
 * const unsubscribe = store.subscribe(() => worker.wake());
 */
export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: true, notifications: true };
  private readonly reader: Queries;
  private readonly cache = new ExecutionCache();
  private readonly listener: ReadyListener;
  private readonly commitAndNotify: string;
  private closed = false;

  private constructor(
    readonly settings: PostgresSettings,
    private readonly pool: pg.Pool,
    connection: pg.ClientConfig,
    private readonly options: PostgresStoreOptions,
    /** The server's clock: every process on every host compares leases and deadlines by it. */
    readonly clock: ServerClock,
  ) {
    this.reader = new Queries(pool, this.cache);
    this.listener = new ReadyListener(
      { ...connection, application_name: `${connection.application_name} listener`, keepAlive: true },
      settings.schema,
      options.onError,
    );
    // The schema name is a checked plain identifier, safe inside a literal. One round trip:
    // the notification is queued by the first statement and delivered by the COMMIT.
    this.commitAndNotify = `SELECT pg_notify('${READY_CHANNEL}', '${settings.schema}'); COMMIT`;
  }

  /**
   * Connects to the database a `postgres://` URL names (see parsePostgresUrl), creates the
   * schema if missing and applies the migrations it lacks. Several processes may open one new
   * schema at once: the migrations are applied once.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const parsed = parsePostgresUrl(url);
    const settings: PostgresSettings = Object.freeze({
      url: redactPostgresUrl(url),
      schema: parsed.schema,
      isolation: parsed.isolation,
      pool: parsed.pool,
      pollMs: parsed.pollMs,
      maxAttempts: Math.max(1, options.maxAttempts ?? 20),
    });
    const connection = connectionConfig(parsed, settings.schema, options.applicationName ?? "weft");
    const pool = new pg.Pool({
      ...connection,
      max: settings.pool,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // An idle client whose connection drops is removed by the pool; without a listener the
    // 'error' event would crash the process.
    pool.on("error", (error) => options.onError?.(error));
    try {
      const { client, lost, onLost } = await checkout(pool);
      let failed = false;
      try {
        await migrate(client, settings.schema);
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        client.off("error", onLost);
        client.release(failed || lost.error !== undefined);
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof WeftError) throw error;
      // Not there yet (restarting, or started after us): the caller may wait for it.
      const outage = asOutage(error, settings.url);
      if (outage !== error) throw outage;
      const failure = new WeftError(
        "STORE_OPEN_FAILED",
        `Could not open the PostgreSQL store "${settings.url}": ${(error as Error).message}. ` +
          "Check that the server is running and that the URL's user, database and schema are right.",
      );
      failure.cause = error;
      throw failure;
    }
    let clock: ServerClock;
    try {
      clock = await ServerClock.start(pool, options.onError);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new WeftError(
        "STORE_OPEN_FAILED",
        `Could not read the clock of the PostgreSQL server "${settings.url}": ${(error as Error).message}.`,
      );
    }
    return new PostgresStore(settings, pool, connection, options, clock);
  }

  /** How often, in ms, a worker should look for ready runs when no notification came. */
  get pollMs(): number {
    return this.settings.pollMs;
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    let retriedDuplicate = false;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw closedError(this.settings.url);
      let outcome: AttemptOutcome<T>;
      try {
        outcome = await this.attempt(fn);
      } catch (error) {
        // No connection to begin with (the pool could not connect): an outage, or a bug.
        throw asOutage(error, this.settings.url);
      }
      if (outcome.ok) return outcome.value;
      const retry = outcome.conflict === "always" || (outcome.conflict === "once" && !retriedDuplicate);
      if (!retry || attempt >= this.settings.maxAttempts) throw asOutage(outcome.error, this.settings.url);
      if (outcome.conflict === "once") retriedDuplicate = true;
      this.options.onRetry?.(outcome.error as Error, attempt);
      // Jittered and growing a little: two transactions that collided should not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    return this.read(() => this.reader.getExecution(id));
  }

  async listExecutions(filter?: ExecutionFilter): Promise<ExecutionRecord[]> {
    return this.read(() => this.reader.listExecutions(filter));
  }

  async listRuns(executionId: string): Promise<TaskRunRecord[]> {
    return this.read(() => this.reader.listRuns(executionId));
  }

  async getRuns(executionId: string, seqs: readonly number[]): Promise<TaskRunRecord[]> {
    return this.read(() => this.reader.getRuns(executionId, seqs));
  }

  async listEvents(executionId: string, afterId?: number): Promise<ExecutionEvent[]> {
    return this.read(() => this.reader.listEvents(executionId, afterId));
  }

  async nextRunAfter(executionId?: string, codes?: readonly string[]): Promise<number | null> {
    return this.read(() => this.reader.nextRunAfter(executionId, codes));
  }

  async countExecutions(): Promise<ExecutionCounts> {
    return this.read(() => this.reader.countExecutions());
  }

  async countReady(now: number): Promise<number> {
    return this.read(() => this.reader.countReady(now));
  }

  async listTraversals(executionId: string): Promise<TraversalRecord[]> {
    return this.read(() => this.reader.listTraversals(executionId));
  }

  async findVersion(
    executionId: string,
    task: string,
    versionKey: string,
  ): Promise<TaskRunRecord | undefined> {
    return this.read(() => this.reader.findVersion(executionId, task, versionKey));
  }

  async listWorkflows(): Promise<WorkflowRecord[]> {
    return this.read(() => this.reader.listWorkflows());
  }

  /** Calls `listener` when a transaction of any process made runs of this schema claimable. */
  subscribe(listener: () => void): () => void {
    return this.listener.subscribe(listener);
  }

  /** Ends the LISTEN connection, then the pool once its transactions ended. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock.stop();
    await this.listener.close();
    await this.pool.end();
  }

  /** A read outside transactions, its connection failures reported as outages. */
  private async read<T>(query: () => Promise<T>): Promise<T> {
    if (this.closed) throw closedError(this.settings.url);
    try {
      return await query();
    } catch (error) {
      throw asOutage(error, this.settings.url);
    }
  }

  /** One run of `fn` in one transaction: committed, or rolled back with whether to run it again. */
  private async attempt<T>(fn: (tx: StoreTx) => Promise<T>): Promise<AttemptOutcome<T>> {
    const { client, lost, onLost } = await checkout(this.pool);
    const tx = new PostgresTx(client, this.cache);
    try {
      await client.query(BEGIN[this.settings.isolation]);
      const value = await fn(tx.api);
      // The function caught a statement's error and carried on: PostgreSQL has aborted the
      // transaction already, and COMMIT would quietly roll back. Report it instead.
      if (tx.failure !== undefined) throw tx.failure;
      await client.query(tx.wake ? this.commitAndNotify : "COMMIT");
      return { ok: true, value };
    } catch (error) {
      if (!lost.error)
        await client.query("ROLLBACK").catch((rollbackError: Error) => (lost.error = rollbackError));
      // A conflict shows first where PostgreSQL raised it, even if the function then threw something else.
      return { ok: false, error, conflict: conflictKind(tx.failure ?? error) };
    } finally {
      tx.end();
      client.off("error", onLost);
      // A client that lost its connection or cannot even roll back is closed, not reused.
      client.release(lost.error);
    }
  }
}

/** A pooled client, and what its connection reported while we held it. */
interface CheckedOut {
  client: pg.PoolClient;
  lost: { error?: Error };
  /** The 'error' listener to remove before the client goes back to the pool. */
  onLost: (error: Error) => void;
}

/**
 * Takes a client from the pool with an 'error' listener attached at once. A lost connection
 * emits 'error' on its client, which the pool hears only while the client is idle: unheard, it
 * ends the process. With `await pool.connect()` the listener would come one tick late, and a
 * backend terminated while it was connecting reports its error in that very tick (the error
 * arrives in the same packet as the connection's ReadyForQuery).
 */
function checkout(pool: pg.Pool): Promise<CheckedOut> {
  return new Promise((resolve, reject) => {
    pool.connect((error, client) => {
      if (error || !client) {
        reject(error ?? new Error("the pool answered no client"));
        return;
      }
      const lost: CheckedOut["lost"] = {};
      const onLost = (lostError: Error) => (lost.error ??= lostError);
      client.on("error", onLost);
      resolve({ client, lost, onLost });
    });
  });
}

function connectionConfig(url: PostgresUrl, schema: string, applicationName: string): pg.ClientConfig {
  return {
    host: url.host,
    port: url.port,
    user: url.user,
    password: url.password,
    database: url.database,
    ssl: url.ssl === "disable" ? false : url.ssl === "require" ? { rejectUnauthorized: false } : true,
    application_name: applicationName,
    // Set at connection start-up: every pooled connection resolves Weft's tables in its schema.
    options: `-c search_path=${quoteIdent(schema)}`,
    types: TYPES,
  };
}

function closedError(url: string): WeftError {
  return new WeftError("STORE_CLOSED", `The PostgreSQL store "${url}" is closed; open it again to use it.`);
}
