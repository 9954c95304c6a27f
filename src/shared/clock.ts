/** The source of "now" in milliseconds since the epoch; tests pass their own to move time. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
