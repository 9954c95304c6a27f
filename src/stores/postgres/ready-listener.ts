/**
 * Wake-ups over LISTEN/NOTIFY. A transaction that made runs claimable sends
 * `pg_notify('weft_ready', <schema>)` just before its commit (PostgreSQL delivers it on commit,
 * and drops it on rollback); this listener holds one dedicated connection, outside the pool,
 * that LISTENs and calls the subscribers on every notification for its schema.
 *
 * Notifications are a hint, never the only path: workers still poll (`pollMs`), and a
 * listener that (re)connects calls its subscribers once, since anything sent while it was
 * away is lost. A dropped connection is re-opened with a backoff while anyone subscribes.
 */
import pg from "pg";

/** The channel every Weft store notifies on; the payload names the schema. */
export const READY_CHANNEL = "weft_ready";

/** Waits between reconnection attempts, in ms (the last repeats). */
const RECONNECT_BACKOFF = [100, 250, 500, 1000, 2000, 5000];

/** One LISTEN connection per store, shared by all its subscribers (see the file's comment). */
export class ReadyListener {
  private readonly listeners = new Set<() => void>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly schema: string,
    /** Told about connection failures (they are retried, never thrown). */
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  /** Adds a subscriber; the first one opens the connection, the last unsubscribe closes it. */
  subscribe(listener: () => void): () => void {
    if (this.closed) return () => {};
    // A function added twice must be removable twice: wrap it.
    const entry = () => listener();
    this.listeners.add(entry);
    if (this.listeners.size === 1) this.connect();
    return () => {
      if (!this.listeners.delete(entry) || this.listeners.size > 0) return;
      void this.disconnect();
    };
  }

  /** Whether the LISTEN connection is up (for tests and health checks). */
  get listening(): boolean {
    return this.client !== null && this.connecting === null;
  }

  /** Ends the connection and forgets every subscriber. */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.disconnect();
  }

  private connect(): void {
    if (this.closed || this.client || this.listeners.size === 0) return;
    const client = new pg.Client(this.config);
    this.client = client;
    client.on("notification", (message) => {
      if (message.channel === READY_CHANNEL && message.payload === this.schema) this.notify();
    });
    // Without an error listener a dropped connection would crash the process.
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("the LISTEN connection ended")));
    const connecting = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${READY_CHANNEL}`);
        if (this.client !== client) return;
        this.failures = 0;
        this.connecting = null;
        // Anything notified before LISTEN took effect was missed: let the subscribers look.
        this.notify();
      } catch (error) {
        this.lost(client, error as Error);
      }
    })();
    this.connecting = connecting;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client) return;
    this.client = null;
    this.connecting = null;
    client.removeAllListeners("end");
    client.end().catch(() => undefined);
    if (this.closed || this.listeners.size === 0) return;
    this.onError(error);
    const wait = RECONNECT_BACKOFF[Math.min(this.failures++, RECONNECT_BACKOFF.length - 1)]!;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, wait);
    // A pending reconnection alone does not keep the process alive.
    this.retry.unref();
  }

  private async disconnect(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const client = this.client;
    const connecting = this.connecting;
    this.client = null;
    this.connecting = null;
    if (!client) return;
    client.removeAllListeners("end");
    // Let a connection attempt in flight finish before ending it, so `end` does not race it.
    await connecting?.catch(() => undefined);
    client.removeAllListeners("notification");
    await client.end().catch(() => undefined);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.onError(error as Error);
      }
    }
  }
}
