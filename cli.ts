/**
 * The cluster inspector: given the status URLs of some nodes (where each
 * mounts {@linkcode statusPage}), it reads their `pool.status()` and prints
 * whether their rings agree (naming the peers that differ), who owns the
 * keys asked about under each node's ring, and each node's view of the
 * others' health. Runs on Deno, Bun and Node 22.18+:
 *
 * ```sh
 * deno run --allow-net jsr:@x/groupcache/cli http://10.0.0.1:8000/status http://10.0.0.2:8000/status --key user:42
 * bun cli.ts http://10.0.0.1:8000/status http://10.0.0.2:8000/status
 * node cli.ts --json http://10.0.0.1:8000/status
 * ```
 *
 * It exits with 0 when every node answered and all rings agree, 1 when
 * not, 2 on a usage error. The keys asked about stay on this machine: the
 * owners are computed here from each node's peer list.
 *
 * @example Two nodes whose rings agree, checked in-process
 * ```ts
 * import { HttpPool, Registry, statusPage } from "@x/groupcache";
 * import { formatReport, inspect } from "@x/groupcache/cli";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = ["http://a:1", "http://b:1"].map((self) => {
 *   const pool = new HttpPool(self, { registry: new Registry() });
 *   pool.set("http://a:1", "http://b:1");
 *   return statusPage(pool);
 * });
 * const fetch = (url: string) =>
 *   Promise.resolve(url.startsWith("http://a:1") ? a(new Request(url)) : b(new Request(url)));
 * const report = await inspect(["http://a:1/status", "http://b:1/status"], {
 *   keys: ["user:42"],
 *   fetch,
 * });
 * assert.equal(report.ringsAgree, true);
 * assert.equal(report.owners[0].byNode[0].owner, report.owners[0].byNode[1].owner);
 * assert.match(formatReport(report), /^rings: all 2 nodes agree/m);
 * ```
 *
 * @module
 */

import process from "node:process";
import { pathToFileURL } from "node:url";
import { HashRing } from "./src/hash_ring.ts";
import { MailgunRing } from "./src/mailgun_ring.ts";
import type { PoolStatus } from "./src/status.ts";

/** How {@linkcode inspect} reads the nodes. */
export interface InspectOptions {
  /** Keys whose owner to compute under each node's ring. */
  readonly keys?: readonly string[];
  /** How long each node may take to answer, in milliseconds (default 5,000). */
  readonly timeoutMs?: number;
  /** The fetch to use (default `globalThis.fetch`). */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** One node as read: its status, or why it could not be read. */
export interface InspectedNode {
  /** The status URL given. */
  readonly url: string;
  /** Its `pool.status()`, when it answered. */
  readonly status?: PoolStatus;
  /** Why it could not be read. */
  readonly error?: string;
}

/** A ring that some nodes share. */
export interface RingGroup {
  /** The ring's fingerprint. */
  readonly fingerprint: string;
  /** `"golang"`, `"mailgun"` or `"golang-hash"`. */
  readonly kind: string;
  /** Points per peer. */
  readonly replicas: number;
  /** The nodes (their `self`) that hold it. */
  readonly nodes: string[];
}

/** A peer that is not on every node's ring. */
export interface DifferingPeer {
  /** Its base URL. */
  readonly peer: string;
  /** The nodes (their `self`) whose ring has it. */
  readonly on: string[];
  /** The nodes (their `self`) whose ring lacks it. */
  readonly missingFrom: string[];
}

/** Who owns a key under each node's ring. */
export interface KeyOwners {
  /** The key. */
  readonly key: string;
  /** Each answering node (its `self`) and the owner under its ring (`null`: none computable). */
  readonly byNode: { readonly node: string; readonly owner: string | null }[];
}

/** What {@linkcode inspect} found. */
export interface InspectReport {
  /** Every node given, in order. */
  readonly nodes: InspectedNode[];
  /** Whether every node answered with the same ring fingerprint. */
  readonly ringsAgree: boolean;
  /** The distinct rings, the most common first. */
  readonly rings: RingGroup[];
  /** The peers some rings have and others lack. */
  readonly differingPeers: DifferingPeer[];
  /** The owners of the keys asked about. */
  readonly owners: KeyOwners[];
}

/**
 * Reads each node's status (`{url}?format=json`) and compares them.
 *
 * @param urls The nodes' status page URLs.
 * @param options The keys to place, the timeout, the fetch.
 */
export async function inspect(
  urls: readonly string[],
  options: InspectOptions = {},
): Promise<InspectReport> {
  const { keys = [], timeoutMs = 5_000 } = options;
  const fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const nodes = await Promise.all(urls.map(async (url) => {
    try {
      const target = new URL(url);
      target.searchParams.set("format", "json");
      const res = await fetch(target.href, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) {
        await res.body?.cancel();
        return { url, error: `answered ${res.status}` };
      }
      const status = await res.json() as PoolStatus;
      if (typeof status?.ring?.fingerprint !== "string") {
        return { url, error: "answered, but not with a status" };
      }
      return { url, status };
    } catch (err) {
      return { url, error: (err as Error)?.message ?? String(err) };
    }
  }));
  const read = nodes.flatMap((n) => n.status === undefined ? [] : [n.status]);
  const rings = new Map<string, RingGroup>();
  for (const s of read) {
    const ring = rings.get(s.ring.fingerprint) ?? {
      fingerprint: s.ring.fingerprint,
      kind: s.ring.kind,
      replicas: s.ring.replicas,
      nodes: [],
    };
    ring.nodes.push(s.self);
    rings.set(s.ring.fingerprint, ring);
  }
  const allPeers = [
    ...new Set(read.flatMap((s) => s.ring.members.map((m) => m.peer))),
  ].sort();
  const differingPeers = allPeers.flatMap((peer) => {
    const on = read.filter((s) => s.ring.members.some((m) => m.peer === peer));
    if (on.length === read.length) return [];
    return [{
      peer,
      on: on.map((s) => s.self),
      missingFrom: read.filter((s) => !on.includes(s)).map((s) => s.self),
    }];
  });
  const placers = read.map((s) => ({ node: s.self, owner: placer(s) }));
  return {
    nodes,
    ringsAgree: read.length === nodes.length && rings.size <= 1,
    rings: [...rings.values()].sort((a, b) => b.nodes.length - a.nodes.length),
    differingPeers,
    owners: keys.map((key) => ({
      key,
      byNode: placers.map(({ node, owner }) => ({ node, owner: owner(key) })),
    })),
  };
}

/** The owner of a key under a node's ring, as that node computes it. */
function placer(status: PoolStatus): (key: string) => string | null {
  const { kind, replicas, members } = status.ring;
  if (members.length === 0) return () => status.self; // no peers: all local
  // A custom hash places keys its own way: not computable here.
  if (kind !== "golang" && kind !== "mailgun") return () => null;
  const ring = kind === "mailgun"
    ? new MailgunRing(replicas)
    : new HashRing(replicas);
  ring.add(...members.map((m) => m.peer));
  return (key) => ring.get(key) ?? null;
}

/** The report as the command prints it. */
export function formatReport(report: InspectReport): string {
  const out: string[] = [];
  const unread = report.nodes.filter((n) => n.error !== undefined);
  for (const n of unread) out.push(`unreachable: ${n.url} (${n.error})`);
  const answered = report.nodes.length - unread.length;
  if (report.rings.length <= 1) {
    const ring = report.rings[0];
    out.push(
      `rings: all ${answered} node${answered === 1 ? "" : "s"} agree` +
        (ring
          ? ` (${ring.fingerprint}, ${ring.kind}, ${ring.replicas} replicas)`
          : ""),
    );
  } else {
    out.push(`rings: DISAGREE: ${report.rings.length} different rings`);
    for (const ring of report.rings) {
      out.push(
        `  ${ring.fingerprint} (${ring.kind}, ${ring.replicas} replicas) on ` +
          ring.nodes.join(", "),
      );
    }
    for (const d of report.differingPeers) {
      out.push(
        `  peer ${d.peer}: on ${d.on.length} ring${
          d.on.length === 1 ? "" : "s"
        } (${d.on.join(", ") || "none"}), missing from ${
          d.missingFrom.join(", ")
        }`,
      );
    }
    if (report.differingPeers.length === 0) {
      out.push("  same peers: the ring kind or replicas differ");
    }
  }
  for (const { key, byNode } of report.owners) {
    const owners = new Set(byNode.map((b) => b.owner));
    out.push(
      `key ${JSON.stringify(key)}: ` +
        (owners.size === 1
          ? `owned by ${
            [...owners][0] ?? "(custom hash: unknown)"
          } on every ring`
          : "owners DIFFER"),
    );
    if (owners.size > 1) {
      for (const b of byNode) {
        out.push(`  under ${b.node}'s ring: ${b.owner ?? "(custom hash)"}`);
      }
    }
  }
  out.push("health:");
  for (const n of report.nodes) {
    if (n.status === undefined) continue;
    const views = n.status.peers.map((p) =>
      `${p.peer} ${p.state}` +
      (p.state === "down"
        ? ` (${p.consecutiveFailures} failure${
          p.consecutiveFailures === 1 ? "" : "s"
        }${p.lastError ? `, ${p.lastError.reason}` : ""})`
        : "")
    );
    out.push(
      `  ${n.status.self} sees: ${
        views.length ? views.join(", ") : "no peers"
      }`,
    );
  }
  return out.join("\n");
}

const USAGE =
  `usage: cli.ts [--key KEY]... [--json] [--timeout-ms MS] STATUS_URL...

Reads each node's status page (statusPage(pool) mounted by the node) and
prints whether their rings agree, who owns each KEY under each node's ring,
and each node's view of the others' health. Exit code: 0 all agree, 1 not.`;

async function main(args: string[]): Promise<number> {
  const urls: string[] = [], keys: string[] = [];
  let json = false, timeoutMs = 5_000;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--key" && i + 1 < args.length) keys.push(args[++i]);
    else if (arg === "--json") json = true;
    else if (arg === "--timeout-ms" && i + 1 < args.length) {
      timeoutMs = Number(args[++i]);
    } else if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      return 0;
    } else if (/^https?:\/\//.test(arg)) urls.push(arg);
    else {
      console.error(`cli.ts: unexpected argument ${JSON.stringify(arg)}\n`);
      console.error(USAGE);
      return 2;
    }
  }
  if (urls.length === 0 || !(timeoutMs > 0)) {
    console.error(USAGE);
    return 2;
  }
  const report = await inspect(urls, { keys, timeoutMs });
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.ringsAgree ? 0 : 1;
}

// Run when started as a program (import.meta.main on Deno and Bun; Node
// names the file in argv).
const meta = import.meta as { main?: boolean; url: string };
if (
  meta.main ??
    (process.argv[1] !== undefined &&
      pathToFileURL(process.argv[1]).href === meta.url)
) {
  process.exitCode = await main(process.argv.slice(2));
}
