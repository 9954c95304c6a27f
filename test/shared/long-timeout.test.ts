import { afterEach, describe, expect, it, vi } from "vitest";
import { sleepAction } from "../../src/actions/basic-actions.js";
import { MAX_TIMER_DELAY_MS, setLongTimeout, type TimerHost } from "../../src/shared/long-timeout.js";
import { makeContext } from "../actions/context.js";

const DAY = 86_400_000;

/** A clock that moves only when told, and runs the timers that fall due, in order. */
class FakeHost implements TimerHost {
  time = 0;
  readonly delays: number[] = [];
  private timers = new Map<number, { at: number; callback: () => void }>();
  private next = 0;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    // Node's behaviour past the limit, the reason the helper exists: fire after 1 ms.
    const delay = ms > MAX_TIMER_DELAY_MS ? 1 : ms;
    this.delays.push(ms);
    this.timers.set(++this.next, { at: this.time + delay, callback });
    return this.next;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = end;
  }
}

describe("setLongTimeout", () => {
  it("fires a 30-day timeout after 30 days, not before, in legs Node can hold", () => {
    const host = new FakeHost();
    let fired = 0;
    setLongTimeout(() => fired++, 30 * DAY, host);
    host.advance(30 * DAY - 1);
    expect(fired).toBe(0);
    host.advance(1);
    expect(fired).toBe(1);
    expect(host.delays.every((delay) => delay <= MAX_TIMER_DELAY_MS)).toBe(true);
    expect(host.delays).toEqual([MAX_TIMER_DELAY_MS, 30 * DAY - MAX_TIMER_DELAY_MS]);
    host.advance(365 * DAY);
    expect(fired).toBe(1);
  });

  it("keeps the deadline when a leg fires late", () => {
    const host = new FakeHost();
    let firedAt: number | undefined;
    setLongTimeout(() => (firedAt = host.now()), 40 * DAY, host);
    // The process was suspended: the first leg runs 10 days late.
    host.time = MAX_TIMER_DELAY_MS + 10 * DAY - 1;
    host.advance(1);
    expect(firedAt).toBeUndefined();
    host.advance(40 * DAY - host.time);
    expect(firedAt).toBe(40 * DAY);
  });

  it("is a plain timer for short delays, and clear() cancels it at any leg", () => {
    const host = new FakeHost();
    let fired = 0;
    setLongTimeout(() => fired++, 250, host);
    expect(host.delays).toEqual([250]);
    host.advance(250);
    expect(fired).toBe(1);
    const long = setLongTimeout(() => fired++, 60 * DAY, host);
    host.advance(30 * DAY);
    long.clear();
    host.advance(60 * DAY);
    expect(fired).toBe(1);
  });
});

describe("sleep for longer than Node's timer limit", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a 30-day sleep is still pending after 29 days and resolves at 30", async () => {
    vi.useFakeTimers();
    const { ctx } = makeContext();
    let done = false;
    const sleeping = sleepAction({ duration: "30d" }, ctx).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(29 * DAY);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(DAY);
    await sleeping;
    expect(done).toBe(true);
  });
});
