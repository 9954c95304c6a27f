/**
 * The PostgreSQL schema as versioned migrations, applied on open and recorded in
 * `schema_migrations`. A migration is never edited once released: a change is a new version,
 * so databases written by an older Weft still open (and their executions still resume).
 *
 * Tables and columns are those of the SQLite adapter (one concept, one name). Differences:
 * times are bigint epoch ms, `successors` is an integer[], `allow_failure` a boolean, and JSON
 * columns are `json`, not `jsonb`: jsonb reorders object keys, and the engine compares specs
 * and callback outputs by their JSON text (registerWorkflow, duplicate callbacks), so a value
 * must come back exactly as written. Weft never queries inside these documents, so jsonb's
 * indexing would buy nothing.
 */
import type pg from "pg";
import { WeftError } from "../../shared/errors.js";

/** One step of the schema. `sql` runs inside the transaction that records it. */
export interface Migration {
  version: number;
  sql: string;
}

const V1_EXECUTIONS = `
CREATE TABLE executions (
  id          text COLLATE "C" PRIMARY KEY, -- byte order: ids sort as JavaScript compares them
  workflow    text NOT NULL,
  version     integer,
  spec        json NOT NULL,              -- WorkflowSpec; never changes within a traversal
  input       json NOT NULL,
  status      text NOT NULL,
  traversal   text NOT NULL,
  output      json,
  error       json,                       -- ExecutionError
  failures    integer NOT NULL DEFAULT 0,
  end_status  text,
  deadline    bigint,
  base_dir    text,                       -- where the workflow's relative paths resolve
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL,
  finished_at bigint
);
-- listExecutions: newest first, optionally by status or workflow, paginated by (created_at, id).
CREATE INDEX executions_newest ON executions (created_at DESC, id DESC);
CREATE INDEX executions_by_status ON executions (status, created_at DESC, id DESC);
CREATE INDEX executions_by_workflow ON executions (workflow, created_at DESC, id DESC);
-- Reaping executions whose workflow timeout passed.
CREATE INDEX executions_overdue ON executions (deadline) WHERE status = 'running' AND deadline IS NOT NULL;
`;

const V1_TASK_RUNS = `
CREATE TABLE task_runs (
  execution_id         text COLLATE "C" NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  seq                  integer NOT NULL,
  task                 text NOT NULL,
  kind                 text NOT NULL,
  status               text NOT NULL,
  traversal            text NOT NULL,
  attempt              integer NOT NULL,
  max_attempts         integer NOT NULL,
  pending              integer NOT NULL,  -- the sync point: predecessors not yet ended
  failed_predecessors  integer NOT NULL,
  skipped_predecessors integer NOT NULL,
  rule                 text NOT NULL,
  allow_failure        boolean NOT NULL,
  successors           integer[] NOT NULL,
  timeout              bigint,
  run_after            bigint NOT NULL,
  lease_owner          text,
  lease_expires_at     bigint,
  deadline             bigint,            -- a waiting delegate's deadline
  token_hash           text,              -- SHA-256 of a delegate's token, never the token
  output               json,
  error                json,              -- TaskError
  started_at           bigint,
  finished_at          bigint,
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

const V1_EVENTS_AND_WORKFLOWS = `
CREATE TABLE events (
  id           bigserial PRIMARY KEY,
  execution_id text COLLATE "C" NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  at           bigint NOT NULL,
  type         text NOT NULL,
  payload      json NOT NULL              -- task, kind, attempt, worker, status, error, data
);
CREATE INDEX events_by_execution ON events (execution_id, id);

CREATE TABLE workflows (
  name       text COLLATE "C" NOT NULL,
  version    integer NOT NULL,
  spec       json NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (name, version)
);
`;

const V2_ORIGIN = `
-- Where a definition came from: 'http' (a client of the API; workers re-check its actions) or
-- 'direct' (a process with direct access to the store). Rows written before this version were
-- all trusted as 'direct' by the Weft that wrote them, so they keep that meaning.
ALTER TABLE workflows ADD COLUMN origin text NOT NULL DEFAULT 'direct';
ALTER TABLE executions ADD COLUMN origin text NOT NULL DEFAULT 'direct';
`;

const V3_INTERRUPTIONS = `
-- Attempts whose worker was lost: they do not count against max_attempts (retry.interruptions bounds them).
ALTER TABLE task_runs ADD COLUMN interruptions integer NOT NULL DEFAULT 0;
`;

const V4_CODE = `
-- Code-first workflows: the code id (a hash of the builder functions) a workflow version, an
-- execution and each of its function task runs need; NULL (every older row) needs no code.
ALTER TABLE workflows ADD COLUMN code text;
ALTER TABLE executions ADD COLUMN code text;
ALTER TABLE task_runs ADD COLUMN code text;
`;

const V5_TRAVERSALS = `
-- Living executions (engine/traversals.ts). base: the seq of the current traversal's first run;
-- next_seq: the next seq no run holds (StoreTx.allocateSeqs). Older executions reserved their
-- whole layout (2 runs per task + 2 sync points) when they started.
ALTER TABLE executions ADD COLUMN base integer NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN next_seq integer NOT NULL DEFAULT 0;
UPDATE executions SET next_seq =
  2 * (SELECT count(*) FROM task_runs WHERE task_runs.execution_id = executions.id AND kind = 'task') + 2;
-- Versions: the hash of what a succeeded body ran with; the version a reused run stands for;
-- the version an undo run undoes; when a version's undo succeeded.
ALTER TABLE task_runs ADD COLUMN version_key text;
ALTER TABLE task_runs ADD COLUMN reused_from integer;
ALTER TABLE task_runs ADD COLUMN target integer;
ALTER TABLE task_runs ADD COLUMN undone_at bigint;
-- A run still running when a later traversal started: that traversal (its end releases it there).
ALTER TABLE task_runs ADD COLUMN superseded_by text;
-- The traversals of an execution, written at its first update.
CREATE TABLE traversals (
  execution_id        text NOT NULL REFERENCES executions(id),
  id                  text NOT NULL,
  number              integer NOT NULL,
  cause               text NOT NULL,
  spec                json NOT NULL,
  input               json NOT NULL,
  base                integer NOT NULL,
  status              text NOT NULL,
  rollback_on_failure boolean NOT NULL DEFAULT false,
  created_at          bigint NOT NULL,
  finished_at         bigint,
  PRIMARY KEY (execution_id, id)
);
`;

const V6_ITEM = `
-- forEach: the item of an instance run; NULL on every other run (and every older row).
ALTER TABLE task_runs ADD COLUMN item json;
`;

const V7_SUBFLOWS = `
-- Sub-workflows: the attempt of the parent's run that started an execution (all NULL for one
-- started by a person or a program, as every older row was), and how deep it nests.
ALTER TABLE executions ADD COLUMN parent_id text COLLATE "C";
ALTER TABLE executions ADD COLUMN parent_seq integer;
ALTER TABLE executions ADD COLUMN parent_attempt integer;
ALTER TABLE executions ADD COLUMN parent_traversal text;
ALTER TABLE executions ADD COLUMN depth integer NOT NULL DEFAULT 0;
-- The children of an execution (weft status, the API), newest first like every listing.
CREATE INDEX executions_by_parent ON executions (parent_id, created_at DESC, id DESC) WHERE parent_id IS NOT NULL;
`;

/** Every migration, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, sql: V1_EXECUTIONS + V1_TASK_RUNS + V1_EVENTS_AND_WORKFLOWS },
  { version: 2, sql: V2_ORIGIN },
  { version: 3, sql: V3_INTERRUPTIONS },
  { version: 4, sql: V4_CODE },
  { version: 5, sql: V5_TRAVERSALS },
  { version: 6, sql: V6_ITEM },
  { version: 7, sql: V7_SUBFLOWS },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** First key of the advisory lock taken while migrating ("weft" in ASCII); the second is the schema's hash. */
const MIGRATION_LOCK = 0x77656674;

/** A schema name as a quoted identifier (names are checked by parsePostgresUrl; quotes are doubled anyway). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Creates `schema` if missing and applies the migrations it lacks, in one transaction holding
 * a transaction-scoped advisory lock on the schema: processes opening one new schema at once
 * queue on the lock, and each after the first finds nothing left to do. Answers the versions
 * applied by this call. A schema written by a newer Weft is refused rather than half-understood.
 */
export async function migrate(client: pg.ClientBase, schema: string, now = Date.now()): Promise<number[]> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [MIGRATION_LOCK, schema]);
    // Look before creating: CREATE SCHEMA IF NOT EXISTS still needs the CREATE privilege,
    // which a role that may only use an existing schema lacks.
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)",
    );
    const { rows } = await client.query<{ v: number | null }>(
      "SELECT max(version) AS v FROM schema_migrations",
    );
    const current = rows[0]?.v ?? null;
    if (current !== null && current > SCHEMA_VERSION) {
      throw new WeftError(
        "STORE_SCHEMA_TOO_NEW",
        `The PostgreSQL schema "${schema}" has schema version ${current}, but this Weft knows only up to ` +
          `${SCHEMA_VERSION}. Upgrade Weft to open it.`,
      );
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (current !== null && migration.version <= current) continue;
      await client.query(migration.sql);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
        migration.version,
        now,
      ]);
      applied.push(migration.version);
    }
    await client.query("COMMIT");
    return applied;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
