import type { RetryPolicy } from "../definition/spec.js";

/**
 * The delay before the next attempt after `attempt` failed: exponential backoff capped at
 * `maxBackoff`, with "equal jitter" (half fixed, half random) so that many runs failing
 * together do not retry in lockstep, while the delay never drops below half the nominal one.
 *
 * @example
 * retryDelay({ attempts: 3, backoff: 200, factor: 2, maxBackoff: 10_000 }, 2, () => 0.5) // 300
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxBackoff, policy.backoff * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(nominal / 2 + (nominal / 2) * random());
}
