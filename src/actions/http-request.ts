/**
 * One HTTP exchange under an egress policy, on `node:http`/`node:https` rather than `fetch`:
 * the socket's `lookup` is where the policy is checked, so the address that is checked is the
 * address that is connected to (a name that resolves to an allowed address for the check and
 * to a metadata address for the connection, DNS rebinding, cannot slip through). Redirects
 * are followed as `fetch` follows them, each hop checked again.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import type { EgressPolicy } from "./egress-policy.js";

/** What came back. */
export interface HttpExchange {
  status: number;
  statusText: string;
  /** Names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  text: string;
  /** The URL that answered, after redirects. */
  url: URL;
}

/** The egress policy refused a host or address; `reason` says which and how to allow it. */
export class EgressRefusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "EgressRefusal";
  }
}

/** More redirects than this fail the request (fetch's limit). */
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that describe a request body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A socket `lookup` that resolves, drops the addresses the policy refuses, and connects to the rest. */
function guardedLookup(policy: EgressPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      let reason: string | null = null;
      const allowed = addresses.filter((entry) => {
        const why = policy.refuseAddress(hostname, entry.address);
        reason ??= why;
        return why === null;
      });
      const first = allowed[0];
      if (!first) return callback(new EgressRefusal(reason ?? `${hostname} resolved to no address`), "");
      if (options.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  };
}

/** Throws EgressRefusal when the policy refuses `url`'s host by name, or as an address literal. */
function checkHost(url: URL, policy: EgressPolicy): void {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const reason = isIP(host) === 0 ? policy.refuseName(host) : policy.refuseAddress(host, host);
  if (reason !== null) throw new EgressRefusal(reason);
}

function decode(response: IncomingMessage, body: Buffer): string {
  const encoding = String(response.headers["content-encoding"] ?? "")
    .trim()
    .toLowerCase();
  try {
    if (encoding === "gzip" || encoding === "x-gzip") return gunzipSync(body).toString("utf8");
    if (encoding === "br") return brotliDecompressSync(body).toString("utf8");
    if (encoding === "deflate") {
      try {
        return inflateSync(body).toString("utf8");
      } catch {
        return inflateRawSync(body).toString("utf8"); // servers that send raw deflate
      }
    }
  } catch {
    // A body that does not decode as labelled is kept as it came.
  }
  return body.toString("utf8");
}

function once(
  url: URL,
  method: string,
  headers: Record<string, string>,
  payload: Buffer | undefined,
  signal: AbortSignal,
  policy: EgressPolicy,
): Promise<{ response: IncomingMessage; body: Buffer }> {
  checkHost(url, policy);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // A fresh connection per request: a pooled socket would skip the lookup, and with it the check.
    const request = send(url, { method, headers, signal, agent: false, lookup: guardedLookup(policy) });
    request.on("error", reject);
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("aborted", () => reject(new Error("the connection closed before the response ended")));
      response.on("end", () => resolve({ response, body: Buffer.concat(chunks) }));
    });
    request.end(payload);
  });
}

/**
 * Sends `method url` with `headers` and `payload`, following redirects. Rejects with
 * EgressRefusal when the policy refuses a host, with the signal's error when it aborts, and
 * with the network error otherwise.
 *
 * @example
 * const { status, text } = await exchange(new URL("https://api.example.com/"), "GET", {}, undefined, signal, DEFAULT_EGRESS_POLICY);
 */
export async function exchange(
  start: URL,
  method: string,
  headers: Record<string, string>,
  payload: string | undefined,
  signal: AbortSignal,
  policy: EgressPolicy,
): Promise<HttpExchange> {
  let url = start;
  let body = payload === undefined ? undefined : Buffer.from(payload, "utf8");
  let sent: Record<string, string> = { ...headers };
  if (body !== undefined) sent["content-length"] = String(body.length);
  for (let hop = 0; ; hop++) {
    const { response, body: received } = await once(url, method, sent, body, signal, policy);
    const location = response.headers.location;
    const status = response.statusCode ?? 0;
    if (!REDIRECTS.has(status) || location === undefined) {
      const names = Object.entries(response.headers).filter(([, value]) => value !== undefined);
      return {
        status,
        statusText: response.statusMessage ?? "",
        headers: Object.fromEntries(
          names.map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : String(value)]),
        ),
        text: decode(response, received),
        url,
      };
    }
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    if (next.protocol !== "http:" && next.protocol !== "https:")
      throw new Error(`a redirect to ${next.protocol} URL, which is not followed`);
    if (status === 303 ? method !== "HEAD" : (status === 301 || status === 302) && method === "POST") {
      method = method === "HEAD" ? "HEAD" : "GET";
      body = undefined;
      sent = Object.fromEntries(Object.entries(sent).filter(([name]) => !BODY_HEADERS.includes(name)));
    }
    // Credentials were meant for the first origin, not for whichever one it redirects to.
    if (next.origin !== url.origin) {
      sent = Object.fromEntries(
        Object.entries(sent).filter(([name]) => name !== "authorization" && name !== "cookie"),
      );
    }
    url = next;
  }
}
