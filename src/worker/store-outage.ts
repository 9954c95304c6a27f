/**
 * How long-lived processes live through a store outage (a database restart, terminated
 * connections, a SQLite file locked by another process, a full disk): they log one line when it
 * starts and one when it ends, wait with capped, jittered backoff, and try the same thing again.
 * Nothing is dropped meanwhile: a worker keeps the outcomes it has not committed (see worker.ts).
 */
import { isStoreUnavailable, type StoreUnavailableError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";

/** Backoff of retries during an outage, with its defaults. */
export interface OutageBackoff {
  /** The first wait, in ms. Default 100. */
  initialMs?: number;
  /** The longest wait, in ms. Default 5000. */
  maxMs?: number;
}

/**
 * One process component's view of the store's health: it turns failures into waits and logs
 * the transitions (down since T, back after N s), never every failed try.
 *
 * @example
 * const outage = new StoreOutage(logger, "worker w1");
 * const execution = await outage.retry(() => store.getExecution(id));
 */
export class StoreOutage {
  private since: number | null = null;
  private failures = 0;
  private started = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(
    private readonly logger: Logger,
    /** Who is waiting, for the log line ("worker w1", "weft run"). */
    private readonly who: string,
    backoff: OutageBackoff = {},
    private readonly random: () => number = Math.random,
  ) {
    this.initialMs = backoff.initialMs ?? 100;
    this.maxMs = backoff.maxMs ?? 5000;
  }

  /** Whether the last store call failed with an outage. */
  get down(): boolean {
    return this.since !== null;
  }

  /** How many outages began since this process started (for `weft_store_outages_total`). */
  get outages(): number {
    return this.started;
  }

  /** When the outage began (epoch ms), or null. */
  get downSince(): number | null {
    return this.since;
  }

  /** Records an outage; answers how long to wait before the next try (ms). Logs only its start. */
  failed(error: StoreUnavailableError): number {
    if (this.since === null) {
      this.since = Date.now();
      this.started += 1;
      this.logger.warn(
        `${this.who}: ${error.message} Retrying with backoff up to ${this.maxMs / 1000} s; ` +
          "nothing is lost meanwhile (since " +
          `${new Date(this.since).toISOString()}).`,
      );
    }
    const nominal = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures++, 30));
    // Between half and all of the nominal wait: processes that lost the store together do not
    // all come back in the same millisecond.
    return Math.round(nominal * (0.5 + this.random() / 2));
  }

  /** The store answered: logs the end of an outage if one was under way. */
  recovered(): void {
    if (this.since === null) return;
    const seconds = ((Date.now() - this.since) / 1000).toFixed(1);
    this.logger.warn(`${this.who}: the store is reachable again after ${seconds} s; carrying on.`);
    this.since = null;
    this.failures = 0;
  }

  /**
   * Runs `fn` until it does not fail with an outage (other errors are thrown at once), waiting
   * between tries. `giveUp` is asked before each wait: when it answers true, the outage error
   * is thrown (a process shutting down must not wait forever).
   */
  async retry<T>(fn: () => Promise<T>, giveUp: () => boolean = () => false): Promise<T> {
    for (;;) {
      try {
        const value = await fn();
        this.recovered();
        return value;
      } catch (error) {
        if (!isStoreUnavailable(error) || giveUp()) throw error;
        await pause(this.failed(error));
      }
    }
  }
}

/** Waits `ms`. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
