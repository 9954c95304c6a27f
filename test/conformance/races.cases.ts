/**
 * Races: engines working on one store at once (and, with `reopen`, on two handles of it, as two
 * processes would). Every outcome is a compare-and-set, so exactly one contender wins each race.
 */
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { EventType, type Store } from "../../src/engine/store.js";
import { eventsOf, failure, fanIn, LEASE_MS, ref, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

/** Runs `x` and `y` at once, starting them in alternating order across rounds. */
function race<X, Y>(round: number, x: () => Promise<X>, y: () => Promise<Y>): Promise<[X, Y]> {
  if (round % 2 === 0) return Promise.all([x(), y()]);
  return Promise.all([y(), x()]).then(([b, a]) => [a, b]);
}

export function raceCases(ctx: SuiteContext): void {
  /** Two completers race for one join of k predecessors, `rounds` times. */
  async function joinRace(one: Engine, two: Engine, k: number): Promise<void> {
    for (let round = 0; round < ctx.raceIterations; round++) {
      const { execution } = await one.start(fanIn(k), {});
      const preds = await one.claim({ owner: "w", limit: k, executionId: execution.id });
      expect(preds).toHaveLength(k);
      const steps = await Promise.all(
        preds.map((run, i) => ((i + round) % 2 === 0 ? one : two).complete(ref(run), run.task)),
      );
      expect(steps.map((step) => step.applied)).toEqual(preds.map(() => 1));
      const readies = steps.flatMap((step) => step.ready).filter((run) => run.task === "join");
      expect(readies).toHaveLength(1);
      const runs = await one.store.listRuns(execution.id);
      expect(runOf(runs, "join")).toMatchObject({ status: "ready", pending: 0 });
      expect(eventsOf(await two.store.listEvents(execution.id), EventType.taskReady, "join")).toHaveLength(1);
    }
  }

  async function secondHandle(): Promise<Store> {
    const other = await ctx.reopen!(ctx.store);
    ctx.closeLater(other);
    return other;
  }

  describe("races", () => {
    it("two completers racing for one join make it ready exactly once", async () => {
      await joinRace(ctx.engine(), ctx.engine(), 2);
      await joinRace(ctx.engine(), ctx.engine(), 5);
    });

    // Adapters without a second handle on their data (memory, sqlite :memory:) have only the race
    // above: these cases are not registered for them (nothing is reported as skipped).
    const withTwoHandles = ctx.reopen === undefined ? () => undefined : it;
    withTwoHandles("two store handles racing for one join make it ready exactly once", async () => {
      const other = await secondHandle();
      await joinRace(ctx.engine(), ctx.engine({}, other), 2);
      await joinRace(ctx.engine(), ctx.engine({}, other), 4);
    });

    withTwoHandles("each store handle sees what another committed", async () => {
      const other = await secondHandle();
      const here = ctx.engine();
      const there = ctx.engine({}, other);
      for (let round = 0; round < 3; round++) {
        // Started here (this handle wrote the runs), claimed there, completed here, and so on.
        const { execution } = await here.start(fanIn(2), {});
        const claimed = await there.claim({ owner: "there", limit: 2, executionId: execution.id });
        expect(claimed).toHaveLength(2);
        expect((await here.complete(ref(claimed[0]!), "here")).applied).toBe(1);
        expect((await there.complete(ref(claimed[1]!), "there")).ready.map((run) => run.task)).toEqual([
          "join",
        ]);
        const [join] = await here.claim({ owner: "here", limit: 1, executionId: execution.id });
        expect(join).toMatchObject({ task: "join", attempt: 1 });
        ctx.clock.advance(LEASE_MS + 1);
        expect((await there.reap()).reaped).toBe(1);
        expect((await here.complete(ref(join!), "late")).applied).toBe(0);
        expect(await here.heartbeat([ref(join!)])).toEqual([ref(join!)]);
      }
    });

    it("a duplicate or stale completion changes nothing", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(workflowSpec("pair", { a: {}, b: { after: ["a"] } }), {});
      const [a] = await engine.claim({ owner: "w", limit: 1 });
      expect((await engine.complete(ref(a!), "first")).applied).toBe(1);
      const runs = await ctx.store.listRuns(execution.id);
      const events = await ctx.store.listEvents(execution.id);
      const stale = [
        engine.complete(ref(a!), "again"),
        engine.complete({ ...ref(a!), attempt: 2 }, "wrong attempt"),
        engine.complete({ ...ref(a!), traversal: "old" }, "wrong traversal"),
        engine.fail(ref(a!), failure("late failure")),
        engine.skip(ref(a!)),
        engine.settle([{ run: ref(a!), status: "succeeded", output: 1 }], { owner: "w", limit: 0 }),
      ];
      for (const step of await Promise.all(stale))
        expect(step).toMatchObject({ applied: 0, ready: [], ended: [] });
      expect(await ctx.store.listRuns(execution.id)).toEqual(runs);
      expect(await ctx.store.listEvents(execution.id)).toEqual(events);
    });

    it("refuses a completion whose lease was reaped and whose run was claimed again", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("reclaim", { t: { retry: { attempts: 2, backoff: 0 } } });
      const { execution } = await engine.start(spec, {});
      const [first] = await engine.claim({ owner: "w-1", limit: 1 });
      ctx.clock.advance(LEASE_MS + 1);
      expect((await engine.reap()).reaped).toBe(1);
      const reaped = runOf(await ctx.store.listRuns(execution.id), "t");
      expect(reaped).toMatchObject({
        status: "retrying",
        attempt: 1,
        leaseOwner: null,
        error: { type: "LeaseExpired" },
      });
      expect(eventsOf(await ctx.store.listEvents(execution.id), EventType.leaseExpired)).toHaveLength(1);

      const [second] = await engine.claim({ owner: "w-2", limit: 1 });
      expect(second).toMatchObject({ attempt: 2, leaseOwner: "w-2" });
      expect((await engine.complete(ref(first!), "late")).applied).toBe(0);
      expect(runOf(await ctx.store.listRuns(execution.id), "t")).toEqual(second);
      expect((await engine.complete(ref(second!), "on time")).applied).toBe(1);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("a reap racing a completion: exactly one wins, and a late completion is refused", async () => {
      const reaper = ctx.engine();
      const worker = ctx.engine();
      const spec = workflowSpec("race", { t: { retry: { attempts: 2, backoff: 0 } } });
      const wins = { reap: 0, complete: 0 };
      for (let round = 0; round < ctx.raceIterations; round++) {
        const { execution } = await worker.start(spec, {});
        const [run] = await worker.claim({ owner: "w", limit: 1, executionId: execution.id });
        ctx.clock.advance(LEASE_MS + 1);
        const [reap, done] = await race(
          round,
          () => reaper.reap(),
          () => worker.complete(ref(run!), "output"),
        );
        expect(reap.reaped + done.applied).toBe(1);
        const after = runOf(await ctx.store.listRuns(execution.id), "t");
        if (reap.reaped === 1) {
          wins.reap += 1;
          expect(after).toMatchObject({ status: "retrying", attempt: 1 });
          expect((await worker.complete(ref(run!), "late")).applied).toBe(0);
          // The retry is claimed with a fresh lease: a reap now finds nothing to take.
          const [claim, again] = await race(
            round,
            () => worker.claim({ owner: "w-2", limit: 1, executionId: execution.id }),
            () => reaper.reap(),
          );
          expect(again.reaped).toBe(0);
          expect(claim).toHaveLength(1);
          expect((await worker.complete(ref(claim[0]!), "output")).applied).toBe(1);
        } else {
          wins.complete += 1;
          expect(after).toMatchObject({ status: "succeeded", output: "output" });
        }
        expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
      }
      expect(wins.reap + wins.complete).toBe(ctx.raceIterations);
    });
  });
}
