/**
 * Where `http` tasks and delegate notifications may connect. A definition's URL is chosen by
 * whoever wrote the definition (possibly a client of the HTTP API), so it must not reach what
 * only the worker's host can: cloud metadata services above all, which hand out credentials.
 *
 * Without `--allow-hosts` (`WEFT_ALLOW_HOSTS`) every address is allowed except link-local ones
 * (169.254.0.0/16, fe80::/10) and metadata addresses (169.254.169.254, fd00:ec2::254,
 * metadata.google.internal); loopback and private ranges stay allowed, as before. With it,
 * only the listed hosts are. Link-local and metadata addresses are allowed only by an entry
 * that names them: an address, a range inside the link-local block, or the metadata host name.
 * Addresses are checked after resolution, on the address the socket connects to (see the
 * `http` action's lookup), so a name that resolves to a refused address is refused too.
 */
import { BlockList, isIP } from "node:net";
import { InvalidInputError } from "../shared/errors.js";

/** How an operator changes the policy; named in every refusal. */
export const ALLOW_HOSTS_FLAG = "--allow-hosts (or WEFT_ALLOW_HOSTS)";

/** Host names of metadata services; refused by name, before any lookup. */
const METADATA_NAMES = new Set(["metadata.google.internal"]);

const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet("169.254.0.0", 16, "ipv4");
LINK_LOCAL.addSubnet("fe80::", 10, "ipv6");
/** AWS's IPv6 metadata endpoint lies outside fe80::/10. */
LINK_LOCAL.addAddress("fd00:ec2::254", "ipv6");

/** The shortest prefix an entry may have and still name link-local addresses explicitly. */
const NARROW_PREFIX = { ipv4: 16, ipv6: 10 } as const;

interface AddressEntry {
  list: BlockList;
  /** Narrow enough to count as naming a link-local address (not `0.0.0.0/0`). */
  narrow: boolean;
}

/** A compiled egress policy. */
export interface EgressPolicy {
  /** The listed entries as given (empty: the default policy). */
  readonly entries: readonly string[];
  /** Why `host` (a URL's host name, brackets removed) may not be reached by name, or null. */
  refuseName(host: string): string | null;
  /** Why `address` (what `host` resolved to, or `host` itself when it is an address) is refused, or null. */
  refuseAddress(host: string, address: string): string | null;
}

const familyOf = (address: string): "ipv4" | "ipv6" => (isIP(address) === 6 ? "ipv6" : "ipv4");
const bare = (host: string) =>
  host
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "")
    .toLowerCase();

function addressEntry(entry: string): AddressEntry | undefined {
  const [address, prefixText, extra] = entry.split("/");
  if (extra !== undefined || !address || isIP(address) === 0) return undefined;
  const family = familyOf(address);
  const max = family === "ipv4" ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) return undefined;
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { list, narrow: prefix >= NARROW_PREFIX[family] };
}

/**
 * Compiles `--allow-hosts` / `WEFT_ALLOW_HOSTS`: a comma- or space-separated list of host names
 * (`api.example.com`, `*.example.com`), addresses (`10.0.0.5`, `::1`), ranges (`10.0.0.0/8`),
 * and `*` (any host but link-local and metadata ones). Undefined or empty: the default policy.
 *
 * @example
 * compileEgressPolicy("*,169.254.169.254") // the default, plus the metadata address
 * compileEgressPolicy("api.example.com,10.0.0.0/8") // those only
 */
export function compileEgressPolicy(list?: string | readonly string[]): EgressPolicy {
  const entries = (typeof list === "string" ? [list] : (list ?? []))
    .flatMap((item) => item.split(/[\s,]+/))
    .filter((entry) => entry !== "");
  const anyHost = entries.length === 0 || entries.includes("*");
  const names: string[] = [];
  const suffixes: string[] = [];
  const addresses: AddressEntry[] = [];
  for (const raw of entries) {
    if (raw === "*") continue;
    const entry = bare(raw);
    const address = addressEntry(entry);
    if (address) addresses.push(address);
    else if (/^\*\.[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(entry)) suffixes.push(entry.slice(1));
    else if (/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(entry)) names.push(entry);
    else
      throw new InvalidInputError(
        `--allow-hosts has "${raw}", which is no host name, address or range: give entries like api.example.com, *.example.com, 10.0.0.5, 10.0.0.0/8 or *.`,
      );
  }
  const named = (host: string) => names.includes(host) || suffixes.some((suffix) => host.endsWith(suffix));
  const how = (what: string) => `list ${what} in ${ALLOW_HOSTS_FLAG} on the worker to allow it`;

  return Object.freeze({
    entries: Object.freeze([...entries]),
    refuseName(host: string): string | null {
      const name = bare(host);
      if (isIP(name) !== 0) return null;
      if (METADATA_NAMES.has(name) && !names.includes(name))
        return `${name} is a cloud metadata service: ${how(name)}`;
      return null;
    },
    refuseAddress(host: string, address: string): string | null {
      const name = bare(host);
      const family = familyOf(address);
      const seen = name === bare(address) ? address : `${name} (${address})`;
      if (LINK_LOCAL.check(address, family)) {
        if (addresses.some((entry) => entry.narrow && entry.list.check(address, family))) return null;
        if (METADATA_NAMES.has(name) && names.includes(name)) return null;
        return `${seen} is a link-local or cloud metadata address: ${how(address)}`;
      }
      if (anyHost || named(name) || addresses.some((entry) => entry.list.check(address, family))) return null;
      return `${seen} is not in ${ALLOW_HOSTS_FLAG}: add ${isIP(name) === 0 ? name : address} to reach it`;
    },
  });
}

/** The default policy: what a worker started without `--allow-hosts` enforces. */
export const DEFAULT_EGRESS_POLICY: EgressPolicy = compileEgressPolicy();
