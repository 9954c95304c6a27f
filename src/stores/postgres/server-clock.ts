/**
 * The database server's clock, as seen from this process. Leases, deadlines and `runAfter` are
 * compared across processes on many hosts; each host's own clock may be off by seconds (a
 * worker 45 s ahead would reap every healthy lease of the others). So every process reads time
 * as the server's: the offset of the server's clock to the local one is measured at open and
 * refreshed now and then, round-trip corrected as NTP does, and `now()` costs no round trip.
 */
import type pg from "pg";
import type { Clock } from "../../shared/clock.js";

/** How often the offset is measured again: clocks drift slowly, but they are stepped too. */
const REFRESH_MS = 60_000;
/** Round trips per measurement; the fastest one gives the offset (the least queueing in it). */
const SAMPLES = 5;

const SERVER_NOW = "SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS ms";

/**
 * Measures the offset of the server's clock to the local one: the server's time minus the
 * local time at the middle of the fastest of `samples` round trips.
 */
export async function measureOffset(pool: pg.Pool, samples = SAMPLES): Promise<number> {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < samples; i++) {
    const sent = Date.now();
    const { rows } = await pool.query<{ ms: number }>(SERVER_NOW);
    const received = Date.now();
    const rtt = received - sent;
    if (rtt < best.rtt) best = { rtt, offset: Number(rows[0]!.ms) - (sent + received) / 2 };
  }
  return Math.round(best.offset);
}

/**
 * The server's time: the local clock plus the measured offset. `start` measures it once and
 * then every minute in the background (a failed refresh keeps the last offset and is reported).
 *
 * @example
 * const clock = await ServerClock.start(pool, onError);
 * clock.now() // the server's epoch ms, whatever this host's clock says
 */
export class ServerClock implements Clock {
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private offset: number,
    private readonly pool: pg.Pool,
    private readonly onError?: (error: Error) => void,
  ) {}

  static async start(pool: pg.Pool, onError?: (error: Error) => void): Promise<ServerClock> {
    const clock = new ServerClock(await measureOffset(pool), pool, onError);
    clock.timer = setInterval(() => void clock.refresh(), REFRESH_MS);
    clock.timer.unref();
    return clock;
  }

  now(): number {
    return Date.now() + this.offset;
  }

  /** The server's clock minus the local one, in ms, as last measured. */
  get offsetMs(): number {
    return this.offset;
  }

  async refresh(): Promise<void> {
    try {
      this.offset = await measureOffset(this.pool);
    } catch (error) {
      this.onError?.(error as Error);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
