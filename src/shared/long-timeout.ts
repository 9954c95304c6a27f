/**
 * Timers for any duration. Node's `setTimeout` holds its delay in a signed 32-bit integer: past
 * 2^31-1 ms (24.8 days) it warns and fires after 1 ms, so a task `timeout: 30d` aborted every
 * attempt at once. `setLongTimeout` chains timers of at most that length towards one deadline.
 */

/** The longest delay one Node timer holds (about 24.8 days). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A pending long timeout; `clear()` cancels it (harmless after it fired). */
export interface LongTimeout {
  clear(): void;
}

/** Where timers come from: Node's by default, a fake clock in tests. */
export interface TimerHost {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers and wall clock. */
export const nodeTimers: TimerHost = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Calls `callback` once, `ms` milliseconds from now, however long that is. Each leg re-reads the
 * clock, so a leg that fired late does not push the deadline back.
 *
 * @example
 * const timer = setLongTimeout(() => abort(), 30 * 86_400_000); // fires in 30 days, not in 1 ms
 * timer.clear();
 */
export function setLongTimeout(callback: () => void, ms: number, host: TimerHost = nodeTimers): LongTimeout {
  const deadline = host.now() + Math.max(0, ms);
  let handle: unknown;
  let cleared = false;
  const arm = (): void => {
    const remaining = deadline - host.now();
    handle = host.setTimeout(
      () => {
        if (cleared) return;
        if (host.now() >= deadline) callback();
        else arm();
      },
      Math.max(0, Math.min(remaining, MAX_TIMER_DELAY_MS)),
    );
  };
  arm();
  return {
    clear: () => {
      cleared = true;
      host.clearTimeout(handle);
    },
  };
}
