/**
 * What a worker enforces when it runs a task: which actions definitions from HTTP may use
 * (action-policy.ts) and where `http` may connect (egress-policy.ts). Compiled once, at the
 * edge (the CLI's flags, `createRuntime`'s options), and handed to every attempt.
 */
import { compileActionPolicy, type ActionPolicy } from "./action-policy.js";
import { compileEgressPolicy, type EgressPolicy } from "./egress-policy.js";

export interface RunPolicy {
  readonly actions: ActionPolicy;
  readonly egress: EgressPolicy;
}

/** The user-facing form: `--allow-actions` and `--allow-hosts` as lists (or their env text). */
export interface RunPolicyOptions {
  /** Default: noop, echo, sleep, fail, http, delegate, workflow (no shell, no js). `*` for all. */
  allowActions?: string | readonly string[];
  /** Default: any host but link-local and metadata ones. */
  allowHosts?: string | readonly string[];
}

/**
 * Compiles both policies; throws InvalidInputError naming a bad entry.
 *
 * @example
 * const policy = compileRunPolicy({ allowActions: process.env.WEFT_ALLOW_ACTIONS });
 */
export function compileRunPolicy(options: RunPolicyOptions = {}): RunPolicy {
  return Object.freeze({
    actions: compileActionPolicy(options.allowActions),
    egress: compileEgressPolicy(options.allowHosts),
  });
}

/** What a worker given no policy enforces. */
export const DEFAULT_RUN_POLICY: RunPolicy = compileRunPolicy();
