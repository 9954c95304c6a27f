/**
 * Who may call what. Management endpoints (`/v1/...` except callbacks, and `/metrics`) need the
 * bearer token whenever one is configured, and one must be configured whenever the server binds
 * to anything but loopback. Callbacks authenticate by their own token (in the path) only: the
 * third party that holds it has no API token. `/healthz` and `/openapi.json` are open.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";
import { InvalidInputError } from "../shared/errors.js";
import type { ErrorBody } from "./errors.js";

/** Who may call a route: holders of the API token, holders of a callback token, or anyone. */
export type Access = "management" | "callback" | "public";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Set on every route by `defineRoute`; read by the authentication hook. */
    access?: Access;
  }
}

/**
 * True for hosts only this machine can reach: `localhost`, `::1`, and 127.0.0.0/8.
 *
 * @example
 * isLoopbackHost("127.0.0.1") // true
 * isLoopbackHost("0.0.0.0") // false: every interface
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  const v4 = bare.startsWith("::ffff:") ? bare.slice("::ffff:".length) : bare;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * Refuses a server that anyone on the network could drive: binding beyond loopback needs a token.
 *
 * @example
 * assertSafeBinding("0.0.0.0", undefined) // throws InvalidInputError, saying why and what to do
 */
export function assertSafeBinding(host: string, token: string | undefined): void {
  if (isLoopbackHost(host) || (token !== undefined && token.length > 0)) return;
  throw new InvalidInputError(
    `Refusing to serve on ${host} without an API token: anyone who reaches it could start, cancel or ` +
      "retry executions. Give --token TOKEN (or set WEFT_API_TOKEN), or bind to 127.0.0.1.",
  );
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** An onRequest hook checking `Authorization: Bearer TOKEN` on management routes (constant-time). */
export function bearerAuth(token: string | undefined) {
  const expected = token ? digest(token) : null;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!expected || request.routeOptions.config.access !== "management") return;
    const header = request.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match && timingSafeEqual(digest(match[1]!), expected)) return;
    await reply
      .status(401)
      .header("www-authenticate", 'Bearer realm="weft"')
      .send({
        error: {
          code: "UNAUTHORIZED",
          message: match
            ? "The API token is wrong."
            : "This endpoint needs the API token: send 'Authorization: Bearer TOKEN' (the server's --token or WEFT_API_TOKEN).",
        },
      } satisfies ErrorBody);
  };
}

/** The host of a `Host` header, without its port and brackets, in lower case; undefined when there is none. */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const text = header.trim().toLowerCase();
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    return end > 0 ? text.slice(1, end) : undefined;
  }
  const colon = text.lastIndexOf(":");
  return colon >= 0 ? text.slice(0, colon) : text;
}

/**
 * An onRequest hook against DNS rebinding. A server without a token trusts whoever reaches it,
 * which on loopback means this machine only, unless a web page in a local browser points a name
 * it controls at 127.0.0.1: its requests then arrive carrying that name in `Host`. So without a
 * token only requests for a loopback name (localhost, 127.0.0.0/8, [::1], any port) or for the
 * public URL's host are answered; others get 421. With a token, the token decides.
 *
 * @example
 * app.addHook("onRequest", hostCheck(undefined, "https://weft.example.com"));
 */
export function hostCheck(token: string | undefined, publicUrl: string | undefined) {
  if (token) return async (): Promise<void> => {};
  let publicHost: string | undefined;
  try {
    publicHost = publicUrl ? hostOfHeader(new URL(publicUrl).host) : undefined;
  } catch {
    publicHost = undefined;
  }
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const host = hostOfHeader(request.headers.host);
    if (host !== undefined && (isLoopbackHost(host) || host === publicHost)) return;
    const given =
      request.headers.host === undefined ? "no Host header" : `Host "${request.headers.host.slice(0, 200)}"`;
    await reply.status(421).send({
      error: {
        code: "HOST_NOT_ALLOWED",
        message:
          `This server has no API token, so it answers only requests for localhost, 127.0.0.1 or [::1]` +
          `${publicHost ? ` or ${publicHost}` : ""}; this one has ${given}. Call it by one of those names, or give it --token.`,
      },
    } satisfies ErrorBody);
  };
}
