/**
 * The abort switch of one attempt. Creating an AbortController costs microseconds, which is
 * a large share of a no-op task's overhead, and most actions never look at their signal; so the
 * controller is created only when a body asks for `ctx.signal`, already aborted if it is late.
 */
export class AttemptAbort {
  private controller: AbortController | null = null;
  private listeners: Array<(reason: unknown) => void> = [];
  private abortedWith: { reason: unknown } | null = null;

  get aborted(): boolean {
    return this.abortedWith !== null;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener(reason);
  }

  /** Calls `listener` once when the attempt aborts (at once if it already did). */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.abortedWith) listener(this.abortedWith.reason);
    else this.listeners.push(listener);
  }

  /**
   * Settles with the body's result, or rejects as soon as the attempt aborts: a body that ignores
   * its signal is abandoned (its late result is discarded by the engine's compare-and-set).
   */
  race<T>(body: Promise<T>): Promise<T> {
    if (this.abortedWith) return Promise.reject(this.abortedWith.reason);
    return new Promise<T>((resolve, reject) => {
      this.onAbort(reject);
      body.then(resolve, reject);
    });
  }
}
