/**
 * The SQLite Store: the embedded default (`sqlite:.weft/weft.db`). One file may be opened by
 * several processes at once: WAL lets readers run beside the single writer, and every
 * transaction takes the write lock up front (`BEGIN IMMEDIATE`), so it never fails half-way
 * on a lock another process holds.
 *
 * better-sqlite3 is synchronous while `Store.transaction` takes an async function, so the
 * transactions of one store are queued (as MemoryStore does) and each holds the connection
 * from BEGIN to COMMIT. Reads outside transactions go to a second, read-only connection and
 * see committed state only, never the middle of a transaction of this process (`:memory:` has
 * one connection: there, as in MemoryStore, they see the transaction under way).
 *
 * Per task, the hot path reads nothing back: open runs are cached (RunCache, validated by
 * `PRAGMA data_version` under the write lock) and parsed specs too (ExecutionCache).
 */
import { systemClock, type Clock } from "../../shared/clock.js";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
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
import { StoreUnavailableError, WeftError } from "../../shared/errors.js";
import { ExecutionCache } from "../execution-cache.js";
import { migrate, SCHEMA_VERSION } from "./migrations.js";
import { asOutage } from "./outage.js";
import { Queries, type Statement } from "./queries.js";
import { RunCache } from "./run-cache.js";
import { RunWrites } from "./run-writes.js";
import { createSqliteTx } from "./sqlite-tx.js";
import { parseSqliteUrl, type SqliteSynchronous } from "./sqlite-url.js";

export { parseSqliteUrl, type SqliteSynchronous, type SqliteUrl } from "./sqlite-url.js";

/** Options of `SqliteStore.open`, with their defaults. */
export interface SqliteStoreOptions {
  /** Default "normal": a commit survives a killed process; "full": it also survives a power loss. */
  synchronous?: SqliteSynchronous;
  /** Default 5000: how long a transaction waits for another process's write lock, in ms. */
  busyTimeoutMs?: number;
}

/** The settings in force, as SQLite reports them. */
export interface SqliteSettings {
  journalMode: string;
  synchronous: SqliteSynchronous | "off" | "extra";
  foreignKeys: boolean;
  schemaVersion: number;
}

const MEMORY = ":memory:";
const SYNCHRONOUS_NAMES = ["off", "normal", "full", "extra"] as const;
/** Waits between two tries of BEGIN IMMEDIATE, in ms: SQLite's own busy-handler schedule. */
const BUSY_BACKOFF = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/**
 * A Store on one SQLite file (or `:memory:`).
 *
 * @example
 * const store = SqliteStore.open(".weft/weft.db"); // creates .weft/ if needed
 * const durable = SqliteStore.fromUrl("sqlite:/var/lib/weft.db?synchronous=full");
 */
export class SqliteStore implements Store {
  /** One machine, one clock: the local one. */
  readonly clock: Clock = systemClock;
  readonly capabilities: StoreCapabilities;
  private readonly writer: Queries;
  private readonly reader: Queries;
  private readonly tx: StoreTx;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly dataVersion: Statement;
  /** Open runs as this process last saw them (see RunCache): valid across its transactions. */
  private readonly runs = new RunCache();
  private queue: Promise<unknown> = Promise.resolve();
  private inTransaction = false;
  private closed = false;

  private constructor(
    /** The database file as given, or `:memory:`. */
    readonly path: string,
    private readonly db: Database.Database,
    private readonly readDb: Database.Database,
    private readonly busyTimeoutMs: number,
  ) {
    const cache = new ExecutionCache();
    this.writer = new Queries(db, cache);
    this.reader = new Queries(readDb, cache);
    this.tx = createSqliteTx(this.writer, new RunWrites(this.writer, this.runs), () => {
      if (!this.inTransaction) throw new Error("a StoreTx was used after its transaction ended");
    });
    this.begin = this.writer.prepare("BEGIN IMMEDIATE");
    this.commit = this.writer.prepare("COMMIT");
    this.rollback = this.writer.prepare("ROLLBACK");
    this.dataVersion = this.writer.prepare("PRAGMA data_version", "pluck");
    this.capabilities = { sharedAcrossProcesses: path !== MEMORY, notifications: false };
  }

  /**
   * Opens (creating it and its directory if missing) and migrates the database at `file`.
   * Two processes may open one new file at once: the migrations are applied once.
   */
  static open(file: string, options: SqliteStoreOptions = {}): SqliteStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    const synchronous = options.synchronous ?? "normal";
    const memory = file === MEMORY;
    let db: Database.Database | undefined;
    let readDb: Database.Database | undefined;
    try {
      if (!memory) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      db = new Database(file);
      // While opening, waiting on another process's lock blocks the thread: open is synchronous.
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (!memory) db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
      db.pragma("foreign_keys = ON");
      migrate(db);
      // From now on BEGIN IMMEDIATE waits asynchronously (see beginImmediate), so a lock held by
      // another store of this very process, awaiting inside its transaction, cannot deadlock us.
      db.pragma("busy_timeout = 0");
      if (!memory) {
        readDb = new Database(file);
        readDb.pragma(`busy_timeout = ${busyTimeoutMs}`);
        readDb.pragma("query_only = ON");
      }
      return new SqliteStore(file, db, readDb ?? db, busyTimeoutMs);
    } catch (error) {
      readDb?.close();
      db?.close();
      if (error instanceof WeftError) throw error;
      const failure = new WeftError(
        "STORE_OPEN_FAILED",
        `Could not open the SQLite store "${file}": ${(error as Error).message}. ` +
          "Check that the path names a file in a writable directory.",
      );
      // Keep the driver's error for whoever debugs it.
      failure.cause = error;
      throw failure;
    }
  }

  /**
   * Opens the store a `sqlite:` URL names (see parseSqliteUrl).
   *
   * @example
   * SqliteStore.fromUrl("sqlite:.weft/weft.db")
   */
  static fromUrl(url: string, options: Omit<SqliteStoreOptions, "synchronous"> = {}): SqliteStore {
    const parsed = parseSqliteUrl(url);
    return SqliteStore.open(parsed.path, { ...options, synchronous: parsed.synchronous });
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) throw closedError(this.path);
    const result = this.queue.then(() => this.run(fn));
    this.queue = result.catch(() => undefined);
    return result;
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

  /**
   * No-op: `capabilities.notifications` is false, so runners poll (`nextRunAfter`) instead.
   * Answers the function that unsubscribes.
   */
  subscribe(_listener: () => void): () => void {
    return () => {};
  }

  /** The journal mode, synchronous level, foreign keys and schema version in force. */
  settings(): SqliteSettings {
    const version = this.db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number };
    return {
      journalMode: String(this.db.pragma("journal_mode", { simple: true })),
      synchronous: SYNCHRONOUS_NAMES[Number(this.db.pragma("synchronous", { simple: true }))] ?? "off",
      foreignKeys: Number(this.db.pragma("foreign_keys", { simple: true })) === 1,
      schemaVersion: version.v ?? SCHEMA_VERSION,
    };
  }

  /** Waits for the queued transactions, then closes the connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    if (this.readDb !== this.db) this.readDb.close();
    this.db.close();
  }

  /** A read on the reader connection, its I/O failures reported as outages. */
  private read<T>(query: () => T): T {
    if (this.closed) throw closedError(this.path);
    try {
      return query();
    } catch (error) {
      throw asOutage(error, this.url);
    }
  }

  /** The store as a URL, for messages. */
  private get url(): string {
    return this.path === MEMORY ? "memory SQLite" : `sqlite:${this.path}`;
  }

  private async run<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    try {
      return await this.runOnce(fn);
    } catch (error) {
      throw asOutage(error, this.url);
    }
  }

  private async runOnce<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    await this.beginImmediate();
    this.inTransaction = true;
    try {
      // Under the write lock now: another process's commit since ours voids the cached runs.
      this.runs.validate(this.dataVersion.get() as number);
      const result = await fn(this.tx);
      this.commit.run();
      return result;
    } catch (error) {
      // Some errors (disk full, I/O) already rolled SQLite back; ROLLBACK would then throw.
      if (this.db.inTransaction) this.rollback.run();
      this.runs.clear();
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  /**
   * BEGIN IMMEDIATE, retried on SQLITE_BUSY with SQLite's backoff until `busyTimeoutMs`.
   * SQLite's own busy_timeout would sleep on the thread: fine across processes, but a deadlock
   * when the lock's holder is another store in this process waiting for the event loop.
   */
  private async beginImmediate(): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        this.begin.run();
        return;
      } catch (error) {
        if (!(error instanceof Database.SqliteError) || !error.code.startsWith("SQLITE_BUSY")) throw error;
        const waited = Date.now() - started;
        if (waited >= this.busyTimeoutMs) {
          throw new StoreUnavailableError(
            this.url,
            `another process has held its write lock for ${waited} ms (raise busyTimeoutMs if long transactions are expected)`,
            error,
          );
        }
        const pause = BUSY_BACKOFF[Math.min(attempt, BUSY_BACKOFF.length - 1)]!;
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, this.busyTimeoutMs - waited)));
      }
    }
  }
}

function closedError(file: string): WeftError {
  return new WeftError("STORE_CLOSED", `The SQLite store "${file}" is closed; open it again to use it.`);
}
