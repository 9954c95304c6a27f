/**
 * Page cursors of `GET /v1/executions`: the (createdAt, id) of a page's last execution, the
 * store's `before` filter, packed into an opaque URL-safe string. Opaque so that clients do not
 * build them, and the order they encode may change without breaking anyone.
 */
import type { ExecutionRecord } from "../../engine/store.js";
import { ApiError } from "../errors.js";

/** The cursor that continues after `execution` in newest-first order. */
export function encodeCursor(execution: Pick<ExecutionRecord, "createdAt" | "id">): string {
  return Buffer.from(JSON.stringify([execution.createdAt, execution.id])).toString("base64url");
}

/** The store filter a cursor stands for; a 400 naming `query.cursor` when it is not one of ours. */
export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === "string" &&
      value[1].length > 0
    ) {
      return { createdAt: value[0] as number, id: value[1] };
    }
  } catch {
    // Falls through to the answer below: what was sent does not matter, only that it is not a cursor.
  }
  throw new ApiError(
    400,
    "INVALID_REQUEST",
    "Invalid query.cursor: pass the nextCursor of a previous page as it is.",
    "query.cursor",
  );
}
