/**
 * The one conformance suite of the Store port (STYLE.md, "Tests"): every adapter runs it, so
 * they all behave as the reference MemoryStore does. It drives the store through the real
 * Engine and directly through `store.transaction`; nothing is mocked, and nothing here knows
 * which adapter it tests (adapter differences are `store.capabilities`, never `instanceof`).
 *
 * @example
 * storeConformanceSuite("MemoryStore", async () => new MemoryStore());
 */
import { afterEach, beforeEach, describe } from "vitest";
import type { Engine, EngineOptions } from "../../src/engine/engine.js";
import type { Store } from "../../src/engine/store.js";
import { batchCases } from "./batches.cases.js";
import { claimCases } from "./claims.cases.js";
import { countCases } from "./counts.cases.js";
import { codeCases } from "./code.cases.js";
import { delegateCases } from "./delegates.cases.js";
import { endToEndCases } from "./end-to-end.cases.js";
import { engineOn, FakeClock } from "./fixtures.js";
import { forEachCases } from "./for-each.cases.js";
import { interruptionCases } from "./interruptions.cases.js";
import { raceCases } from "./races.cases.js";
import { recordCases } from "./records.cases.js";
import { subflowCases } from "./subflows.cases.js";
import { syncPointCases } from "./sync-points.cases.js";
import { transactionCases } from "./transactions.cases.js";
import { traversalCases, traversalEngineCases } from "./traversals.cases.js";
import { workflowCases } from "./workflows.cases.js";

export interface StoreSuiteOptions {
  /** Rounds of each race; default 25. */
  raceIterations?: number;
  /**
   * Another handle on the same data, as a second process would open it (a second SQLite
   * connection, a second PostgreSQL pool). When given, races also run across two handles.
   */
  reopen?: (store: Store) => Promise<Store>;
}

/** What every case sees: the store opened for the current test, and a fake clock. */
export interface SuiteContext {
  readonly store: Store;
  readonly clock: FakeClock;
  readonly raceIterations: number;
  readonly reopen: StoreSuiteOptions["reopen"];
  /** An Engine on the current store (or on `store` when given) driven by the fake clock. */
  engine(options?: EngineOptions, store?: Store): Engine;
  /** Closes `store` after the current test. */
  closeLater(store: Store): void;
}

/**
 * Registers the conformance cases for one adapter. `open` answers a new, empty store for each
 * test; the suite closes it afterwards.
 */
export function storeConformanceSuite(
  name: string,
  open: () => Promise<Store>,
  options: StoreSuiteOptions = {},
): void {
  describe(`Store conformance: ${name}`, () => {
    let current: Store | undefined;
    let clock = new FakeClock();
    let toClose: Store[] = [];
    const ctx: SuiteContext = {
      get store() {
        if (!current) throw new Error("no store is open outside a test");
        return current;
      },
      get clock() {
        return clock;
      },
      raceIterations: options.raceIterations ?? 25,
      reopen: options.reopen,
      engine: (engineOptions = {}, store = ctx.store) => engineOn(store, clock, engineOptions),
      closeLater: (store) => {
        toClose.push(store);
      },
    };

    beforeEach(async () => {
      clock = new FakeClock();
      current = await open();
      toClose = [current];
    });

    afterEach(async () => {
      // Handles opened last close first: a second connection before the store it shares.
      for (const store of toClose.reverse()) await store.close();
      current = undefined;
    });

    recordCases(ctx);
    claimCases(ctx);
    countCases(ctx);
    codeCases(ctx);
    syncPointCases(ctx);
    batchCases(ctx);
    raceCases(ctx);
    interruptionCases(ctx);
    delegateCases(ctx);
    transactionCases(ctx);
    endToEndCases(ctx);
    forEachCases(ctx);
    workflowCases(ctx);
    traversalCases(ctx);
    traversalEngineCases(ctx);
    subflowCases(ctx);
  });
}
