import { createHash, randomBytes, randomUUID } from "node:crypto";

/** A new execution or traversal id: a random UUID. */
export function newId(): string {
  return randomUUID();
}

/** A completion token for a delegate task: 128 random bits, URL-safe. */
export function newToken(): string {
  return randomBytes(16).toString("base64url");
}

/** What stores keep of a token: its SHA-256, hex. The token itself is never stored. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * An id derived from `parts`, shaped like a UUID (32 hex digits of their SHA-256): the same parts
 * always give the same id, so a start that is raced or run again cannot make two of one thing.
 *
 * @example
 * derivedId("child", parentId, traversal, "3", "1") // "5d41402a-bc4b-2a76-b971-9d911017c592"
 */
export function derivedId(...parts: readonly string[]): string {
  const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
