/**
 * The SQLite schema as versioned migrations, applied on open and recorded in
 * `schema_migrations`. A migration is never edited once released: a change is a new version,
 * so files written by an older Weft still open (and their executions still resume).
 *
 * Names follow the Store port in snake_case: execution, task run, traversal, the sync point
 * (`pending` and the predecessor counters), the lease, the delegate's token hash.
 */
import type Database from "better-sqlite3";
import { WeftError } from "../../shared/errors.js";

/** One step of the schema. `sql` runs inside the transaction that records it. */
export interface Migration {
  version: number;
  sql: string;
}

const V1_EXECUTIONS = `
CREATE TABLE executions (
  id          TEXT PRIMARY KEY,
  workflow    TEXT NOT NULL,
  version     INTEGER,
  spec        TEXT NOT NULL,              -- WorkflowSpec, JSON; never changes within a traversal
  input       TEXT NOT NULL,              -- JSON
  status      TEXT NOT NULL,
  traversal   TEXT NOT NULL,
  output      TEXT,                       -- JSON
  error       TEXT,                       -- ExecutionError, JSON
  failures    INTEGER NOT NULL DEFAULT 0,
  end_status  TEXT,
  deadline    INTEGER,
  base_dir    TEXT,                       -- where the workflow's relative paths resolve
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  finished_at INTEGER
);
-- listExecutions: newest first, optionally by status or workflow, paginated by (created_at, id).
CREATE INDEX executions_newest ON executions (created_at, id);
CREATE INDEX executions_by_status ON executions (status, created_at, id);
CREATE INDEX executions_by_workflow ON executions (workflow, created_at, id);
-- Reaping executions whose workflow timeout passed.
CREATE INDEX executions_overdue ON executions (deadline) WHERE status = 'running' AND deadline IS NOT NULL;
`;

const V1_TASK_RUNS = `
CREATE TABLE task_runs (
  execution_id         TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  seq                  INTEGER NOT NULL,
  task                 TEXT NOT NULL,
  kind                 TEXT NOT NULL,
  status               TEXT NOT NULL,
  traversal            TEXT NOT NULL,
  attempt              INTEGER NOT NULL,
  max_attempts         INTEGER NOT NULL,
  pending              INTEGER NOT NULL,  -- the sync point: predecessors not yet ended
  failed_predecessors  INTEGER NOT NULL,
  skipped_predecessors INTEGER NOT NULL,
  rule                 TEXT NOT NULL,
  allow_failure        INTEGER NOT NULL,  -- 0 or 1
  successors           TEXT NOT NULL,     -- JSON array of seqs
  timeout              INTEGER,
  run_after            INTEGER NOT NULL,
  lease_owner          TEXT,
  lease_expires_at     INTEGER,
  deadline             INTEGER,           -- a waiting delegate's deadline
  token_hash           TEXT,              -- SHA-256 of a delegate's token, never the token
  output               TEXT,              -- JSON
  error                TEXT,              -- TaskError, JSON
  started_at           INTEGER,
  finished_at          INTEGER,
  PRIMARY KEY (execution_id, seq)
);
-- Claiming: partial, so the index holds only the queue, not the history.
CREATE INDEX task_runs_claimable ON task_runs (run_after, seq) WHERE status IN ('ready', 'retrying');
CREATE INDEX task_runs_claimable_by_execution ON task_runs (execution_id, run_after, seq)
  WHERE status IN ('ready', 'retrying');
-- Reaping: expired leases of running runs, passed deadlines of waiting delegates.
CREATE INDEX task_runs_lease ON task_runs (lease_expires_at) WHERE status = 'running';
CREATE INDEX task_runs_deadline ON task_runs (deadline) WHERE status = 'waiting';
-- Delegate callbacks find their run by the token's hash.
CREATE INDEX task_runs_token ON task_runs (token_hash) WHERE token_hash IS NOT NULL;
`;

const V1_EVENTS = `
CREATE TABLE events (
  -- AUTOINCREMENT: ids are never reused, so an afterId cursor never skips an event.
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  at           INTEGER NOT NULL,
  type         TEXT NOT NULL,
  payload      TEXT NOT NULL              -- JSON: task, kind, attempt, worker, status, error, data
);
CREATE INDEX events_by_execution ON events (execution_id, id);
`;

const V2_WORKFLOWS = `
-- The registry of workflow definitions: what \`weft start NAME\` runs.
CREATE TABLE workflows (
  name       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  spec       TEXT NOT NULL,               -- WorkflowSpec, JSON
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
);
`;

const V3_ORIGIN = `
-- Where a definition came from: 'http' (a client of the API; workers re-check its actions) or
-- 'direct' (a process with direct access to the store). Rows written before this version were
-- all trusted as 'direct' by the Weft that wrote them, so they keep that meaning.
ALTER TABLE workflows ADD COLUMN origin TEXT NOT NULL DEFAULT 'direct';
ALTER TABLE executions ADD COLUMN origin TEXT NOT NULL DEFAULT 'direct';
`;

const V4_INTERRUPTIONS = `
-- Attempts whose worker was lost: they do not count against max_attempts (retry.interruptions bounds them).
ALTER TABLE task_runs ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;
`;

const V5_CODE = `
-- Code-first workflows: the code id (a hash of the builder functions) a workflow version, an
-- execution and each of its function task runs need; NULL (every older row) needs no code.
ALTER TABLE workflows ADD COLUMN code TEXT;
ALTER TABLE executions ADD COLUMN code TEXT;
ALTER TABLE task_runs ADD COLUMN code TEXT;
`;

const V6_TRAVERSALS = `
-- Living executions (engine/traversals.ts). base: the seq of the current traversal's first run;
-- next_seq: the next seq no run holds (StoreTx.allocateSeqs). Older executions reserved their
-- whole layout (2 runs per task + 2 sync points) when they started.
ALTER TABLE executions ADD COLUMN base INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN next_seq INTEGER NOT NULL DEFAULT 0;
UPDATE executions SET next_seq =
  2 * (SELECT count(*) FROM task_runs WHERE task_runs.execution_id = executions.id AND kind = 'task') + 2;
-- Versions: the hash of what a succeeded body ran with; the version a reused run stands for;
-- the version an undo run undoes; when a version's undo succeeded.
ALTER TABLE task_runs ADD COLUMN version_key TEXT;
ALTER TABLE task_runs ADD COLUMN reused_from INTEGER;
ALTER TABLE task_runs ADD COLUMN target INTEGER;
ALTER TABLE task_runs ADD COLUMN undone_at INTEGER;
-- A run still running when a later traversal started: that traversal (its end releases it there).
ALTER TABLE task_runs ADD COLUMN superseded_by TEXT;
-- The traversals of an execution, written at its first update.
CREATE TABLE traversals (
  execution_id        TEXT NOT NULL REFERENCES executions(id),
  id                  TEXT NOT NULL,
  number              INTEGER NOT NULL,
  cause               TEXT NOT NULL,             -- start | update | rollback | undo
  spec                TEXT NOT NULL,             -- WorkflowSpec, JSON
  input               TEXT NOT NULL,             -- JSON
  base                INTEGER NOT NULL,
  status              TEXT NOT NULL,
  rollback_on_failure INTEGER NOT NULL DEFAULT 0,
  created_at          INTEGER NOT NULL,
  finished_at         INTEGER,
  PRIMARY KEY (execution_id, id)
);
`;

const V7_ITEM = `
-- forEach: the item of an instance run (JSON); NULL on every other run (and every older row).
ALTER TABLE task_runs ADD COLUMN item TEXT;
`;

const V8_SUBFLOWS = `
-- Sub-workflows: the attempt of the parent's run that started an execution (all NULL for one
-- started by a person or a program, as every older row was), and how deep it nests.
ALTER TABLE executions ADD COLUMN parent_id TEXT;
ALTER TABLE executions ADD COLUMN parent_seq INTEGER;
ALTER TABLE executions ADD COLUMN parent_attempt INTEGER;
ALTER TABLE executions ADD COLUMN parent_traversal TEXT;
ALTER TABLE executions ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
-- The children of an execution (weft status, the API), newest first like every listing.
CREATE INDEX executions_by_parent ON executions (parent_id, created_at, id) WHERE parent_id IS NOT NULL;
`;

/** Every migration, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, sql: V1_EXECUTIONS + V1_TASK_RUNS + V1_EVENTS },
  { version: 2, sql: V2_WORKFLOWS },
  { version: 3, sql: V3_ORIGIN },
  { version: 4, sql: V4_INTERRUPTIONS },
  { version: 5, sql: V5_CODE },
  { version: 6, sql: V6_TRAVERSALS },
  { version: 7, sql: V7_ITEM },
  { version: 8, sql: V8_SUBFLOWS },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Applies the migrations the file lacks, in one IMMEDIATE transaction: two processes opening
 * one new file at once serialise on the write lock, and the second finds nothing left to do.
 * Answers the versions applied by this call. A file written by a newer Weft is refused rather
 * than half-understood.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
  now = Date.now(),
): number[] {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    );
    const current = (
      db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null }
    ).v;
    const known = migrations[migrations.length - 1]?.version ?? 0;
    if (current !== null && current > known) {
      throw new WeftError(
        "STORE_SCHEMA_TOO_NEW",
        `The SQLite store "${db.name}" has schema version ${current}, but this Weft knows only up to ${known}. ` +
          "Upgrade Weft to open it.",
      );
    }
    const record = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    const applied: number[] = [];
    for (const migration of migrations) {
      if (current !== null && migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, now);
      applied.push(migration.version);
    }
    db.exec("COMMIT");
    return applied;
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw error;
  }
}
