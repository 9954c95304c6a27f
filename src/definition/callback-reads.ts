/**
 * Which callback links a delegate's `with` reads. `callback.url` and `callback.failUrl` exist only
 * where the process knows its public URL (`--public-url`, `WEFT_PUBLIC_URL`); without one they would
 * evaluate to nothing and the third party would get an empty link, so the worker refuses to start
 * such a delegate instead.
 */
import { findTemplates } from "./templates.js";

/** `callback.url`, `callback.failUrl` or `callback.heartbeatUrl`, with or without spaces around the dot. */
const CALLBACK_LINK = /\bcallback\s*\.\s*(url|failUrl|heartbeatUrl)\b/;

/**
 * The first callback link a value's `${{ }}` expressions read (`"callback.url"`), or undefined.
 *
 * @example
 * callbackLinkRead({ notify: { body: { done: "${{ callback.url }}" } } }) // "callback.url"
 */
export function callbackLinkRead(value: unknown): string | undefined {
  for (const found of findTemplates(value)) {
    for (const part of found.split.parts) {
      if (typeof part === "string") continue;
      const match = CALLBACK_LINK.exec(part.body);
      if (match) return `callback.${match[1]}`;
    }
  }
  return undefined;
}
