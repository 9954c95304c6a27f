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
