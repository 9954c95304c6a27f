// Builds the ActionContext the worker would pass: a real AbortController, a silent logger.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ActionContext } from "../../src/actions/action.js";
import { silentLogger } from "../../src/shared/logger.js";

/** This folder: the fixtures' modules resolve against it, like a workflow file's directory. */
export const here = path.dirname(fileURLToPath(import.meta.url));

export function makeContext(overrides: Partial<ActionContext> = {}): {
  ctx: ActionContext;
  controller: AbortController;
} {
  const controller = new AbortController();
  const ctx: ActionContext = {
    executionId: "exec-1",
    task: "t",
    attempt: 1,
    idempotencyKey: "exec-1:t",
    signal: controller.signal,
    logger: silentLogger,
    inputs: {},
    baseDir: here,
    ...overrides,
  };
  return { ctx, controller };
}

/** Awaits a promise that must reject and returns what it rejected with. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}
