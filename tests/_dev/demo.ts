/**
 * `deno task demo`: a thumbnail cluster on loopback, driven and checked.
 *
 * Starts three OS processes of examples/thumbnails.ts (two on Deno and one on
 * Bun when Bun is installed, to show they interoperate), asks every node for
 * every sample image at a couple of widths, the first time always through a
 * node that does not own the key, then reads each node's `/stats` and prints
 * which node owns each key, which node ran the getter (it must be exactly one
 * per key, the owner), first against repeated latencies, cache hits, and each
 * node's counters. It exits 1 if the cluster misbehaves.
 *
 * ```sh
 * deno task demo            # or: bun run tests/_dev/demo.ts
 * deno task demo --go       # adds a real Go groupcache node to the ring
 * deno task demo --keep     # leaves the cluster up until Ctrl-C
 * deno task demo --etcd     # nodes join through etcd; one leaves, one joins
 * ```
 *
 * With `--go` a fourth node joins: tests/go/node, the real
 * github.com/golang/groupcache, serving the same `thumbnails` group. It has
 * no image code, so its getter answers the placeholder `go:<key>` for the keys
 * it owns; the TypeScript nodes fetch those bytes from it over the peer
 * protocol, and the Go node's own `Get` fetches the real thumbnails from the
 * TypeScript owners. The demo checks both directions byte for byte.
 * @module
 */
import { readdirSync } from "node:fs";
import process from "node:process";
import sharp from "sharp";
import {
  type CacheStats,
  type GroupStats,
  HttpPool,
  Registry,
} from "../../mod.ts";
import { demoEtcd } from "./demo_etcd.ts";
import { buildGo, goAvailable } from "./go.ts";
import { join, root } from "./paths.ts";
import { freePorts } from "./ports.ts";
import { startServer, stopAll } from "./proc.ts";
import { THUMBNAIL_WIDTHS } from "./thumbnail_widths.ts";
import { findBun, findDeno, runtimeCommand } from "./runtimes.ts";

const USAGE = `usage: deno task demo [--go] [--keep] [--quiet] [--etcd]
  --go     add a real Go groupcache node (needs Go and Debian's
           golang-github-golang-groupcache-dev)
  --etcd   instead: nodes that join through a real etcd; one is killed and
           another joins (tests/_dev/demo_etcd.ts; needs etcd-server)
  --keep   leave the cluster running after the report, until Ctrl-C
  --quiet  print the report only, no progress lines`;

const THUMBNAILS = join(root, "examples", "thumbnails.ts");
const IMAGES = join(root, "examples", "images");
/** Each sample image is asked for at these widths. */
const WIDTHS = [64, 128];
/** Passes of repeated gets, each one through every TypeScript node. */
const ROUNDS = 3;
const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;
/** The image files the example reads, and sharp's name of their format. */
const FORMATS = new Map([
  ["jpg", "jpeg"],
  ["jpeg", "jpeg"],
  ["png", "png"],
  ["webp", "webp"],
  ["gif", "gif"],
  ["avif", "heif"],
]);
const formatOf = (file: string) =>
  FORMATS.get(file.slice(file.lastIndexOf(".") + 1).toLowerCase());

interface Flags {
  go: boolean;
  keep: boolean;
  quiet: boolean;
  etcd: boolean;
}

class UsageError extends Error {
  override name = "UsageError";
}

function parseFlags(args: string[]): Flags {
  const flags: Flags = { go: false, keep: false, quiet: false, etcd: false };
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") throw new UsageError("");
    const name = arg.replace(/^--/, "");
    if (!arg.startsWith("--") || !(name in flags)) {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
    flags[name as keyof Flags] = true;
  }
  return flags;
}

type Runtime = "deno" | "bun" | "go";

/** One node of the cluster, whatever runs it. */
interface Member {
  /** n1, n2, n3, or go. */
  label: string;
  runtime: Runtime;
  url: string;
  port: number;
  /** What the process printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** What a thumbnails node answers on /stats. */
interface TsStats {
  stats: GroupStats;
  main: CacheStats;
  hot: CacheStats;
  loaded: string[];
}

/** What tests/go/node answers on /stats (Go's field names). */
interface GoStats {
  Gets: number;
  CacheHits: number;
  PeerLoads: number;
  PeerErrors: number;
  LocalLoads: number;
  ServerRequests: number;
  mainCache: { Items: number };
  hotCache: { Items: number };
}

/** Counters of one node, in one shape for TypeScript and Go nodes. */
interface NodeStats {
  gets: number;
  cacheHits: number;
  peerLoads: number;
  peerErrors: number;
  serverRequests: number;
  localLoads: number;
  mainItems: number;
  hotItems: number;
  /** Getter runs, key → count. */
  loads: Map<string, number>;
}

interface Got {
  via: Member;
  status: number;
  body: Uint8Array;
  owner: string | null;
  cache: string | null;
  ms: number;
}

interface Key {
  key: string;
  file: string;
  width: number;
  /** The width the thumbnail must have: images are never enlarged. */
  expectedWidth: number;
  owner: Member;
  first?: Got;
  repeats: Got[];
  /** The Go node's own Get of this key (with --go). */
  fromGo?: Got;
}

// ---- processes ------------------------------------------------------------

/** The nodes up so far; ./proc.ts stops every child, on failure too. */
const members: Member[] = [];

let closing = false;

function stopMembers(): Promise<void> {
  closing = true;
  return stopAll();
}

function indent(text: string): string {
  return text.trim().split("\n").map((l) => "    | " + l).join("\n");
}

/**
 * Starts one node process and resolves once it has printed `ready` and
 * answers `probe` with 200.
 */
async function startNode(
  label: string,
  runtime: Runtime,
  [cmd, args]: [string, string[]],
  port: number,
  ready: RegExp,
  probe: string,
): Promise<Member> {
  if (closing) throw new Error("the demo is stopping");
  const server = await startServer(cmd, args, {
    cwd: root,
    ready,
    timeoutMs: START_TIMEOUT_MS,
    name: `${label} (${runtime})`,
  });
  const member: Member = {
    label,
    runtime,
    url: `http://127.0.0.1:${port}`,
    port,
    output: server.output,
    stop: () => server.stop(),
  };
  members.push(member);
  const res = await get(member, probe);
  if (res.status !== 200) {
    throw new Error(`${label} answered GET ${probe} with ${res.status}`);
  }
  return member;
}

function startTsNode(
  label: string,
  runtime: "deno" | "bun",
  port: number,
  peers: string[],
): Promise<Member> {
  const args = ["--port", String(port), "--peers", peers.join(",")];
  return startNode(
    label,
    runtime,
    runtimeCommand(THUMBNAILS, args, runtime),
    port,
    /^thumbnails node \S+ listening on /m,
    "/",
  );
}

/** tests/go/node: the real Go groupcache, serving the group "thumbnails". */
function startGoMember(
  binary: string,
  port: number,
  peers: string[],
): Promise<Member> {
  const args = [
    "-addr",
    `127.0.0.1:${port}`,
    "-self",
    `http://127.0.0.1:${port}`,
    "-peers",
    peers.join(","),
    "-group",
    "thumbnails",
  ];
  return startNode(
    "go",
    "go",
    [binary, args],
    port,
    /^listening \S+$/m,
    "/health",
  );
}

// ---- requests -------------------------------------------------------------

function timeout(): AbortSignal {
  return AbortSignal.timeout(REQUEST_TIMEOUT_MS);
}

async function get(via: Member, path: string): Promise<Got> {
  const start = performance.now();
  let res: Response;
  try {
    res = await fetch(via.url + path, { signal: timeout() });
  } catch (err) {
    throw new Error(
      `GET ${via.url}${path} failed: ${(err as Error).message}${
        via.output() ? `; ${via.label} printed:\n${indent(via.output())}` : ""
      }`,
    );
  }
  const body = new Uint8Array(await res.arrayBuffer());
  return {
    via,
    status: res.status,
    body,
    owner: res.headers.get("x-groupcache-owner"),
    cache: res.headers.get("x-groupcache-cache"),
    ms: performance.now() - start,
  };
}

function thumbnailPath(k: Key): string {
  return `/thumbnails/${encodeURIComponent(k.file)}?w=${k.width}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function stats(member: Member): Promise<NodeStats> {
  if (member.runtime === "go") {
    const [s, loads] = await Promise.all([
      json<GoStats>(member, "/stats"),
      json<Record<string, number>>(member, "/loads"),
    ]);
    return {
      gets: s.Gets,
      cacheHits: s.CacheHits,
      peerLoads: s.PeerLoads,
      peerErrors: s.PeerErrors,
      serverRequests: s.ServerRequests,
      localLoads: s.LocalLoads,
      mainItems: s.mainCache.Items,
      hotItems: s.hotCache.Items,
      loads: new Map(Object.entries(loads)),
    };
  }
  const s = await json<TsStats>(member, "/stats");
  const loads = new Map<string, number>();
  for (const key of s.loaded) loads.set(key, (loads.get(key) ?? 0) + 1);
  return {
    ...s.stats,
    mainItems: s.main.items,
    hotItems: s.hot.items,
    loads,
  };
}

async function json<T>(member: Member, path: string): Promise<T> {
  const got = await get(member, path);
  const text = new TextDecoder().decode(got.body);
  if (got.status !== 200) {
    throw new Error(
      `${member.label} answered ${path} with ${got.status}: ${text}`,
    );
  }
  return JSON.parse(text) as T;
}
// ---- report ---------------------------------------------------------------

function table(rows: string[][], right: Set<number> = new Set()): string {
  const widths = rows[0].map((_, c) =>
    Math.max(...rows.map((r) => r[c].length))
  );
  return rows.map((r) =>
    "  " +
    r.map((cell, c) =>
      right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])
    ).join("  ").trimEnd()
  ).join("\n");
}

function ms(x: number): string {
  return x < 10 ? `${x.toFixed(1)} ms` : `${Math.round(x)} ms`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// ---- the demo -------------------------------------------------------------

async function main(flags: Flags): Promise<number> {
  const say = flags.quiet
    ? () => {}
    : (text: string) => process.stdout.write(text);
  const problems: string[] = [];
  if (flags.etcd) return await demoEtcd(flags.quiet);

  if (flags.go && !goAvailable()) {
    throw new Error(
      "--go needs Go and the Debian package of the real groupcache: " +
        "apt-get install golang-go golang-github-golang-groupcache-dev",
    );
  }
  // Plan: which runtimes, which ports, the one peer list every node gets.
  const binaries = { deno: findDeno(), bun: findBun() };
  const plan: ("deno" | "bun")[] = binaries.deno && binaries.bun
    ? ["deno", "bun", "deno"]
    : binaries.deno
    ? ["deno", "deno", "deno"]
    : ["bun", "bun", "bun"];
  const total = plan.length + (flags.go ? 1 : 0);
  const mix = [...new Set(plan)].map((r) =>
    `${plan.filter((x) => x === r).length} ${r}`
  );
  if (flags.go) mix.push("1 go");
  say(
    `groupcache demo: ${total} nodes on 127.0.0.1 (${
      mix.join(", ")
    }), group "thumbnails"\n`,
  );
  if (!binaries.bun) say("  (no Bun found: every node runs on Deno)\n");
  if (!binaries.deno) say("  (no Deno found: every node runs on Bun)\n");
  let goBinary: string | undefined;
  if (flags.go) {
    say("  building the Go node (tests/go/node) … ");
    const t0 = performance.now();
    goBinary = buildGo("tests/go/node", "gonode");
    say(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const ports = await freePorts(total);
  const peers = ports.map((p) => `http://127.0.0.1:${p}`);

  const ts: Member[] = [];
  for (const [i, runtime] of plan.entries()) {
    say(
      `  starting node ${i + 1}/${total} (${runtime}) on :${ports[i]} … `,
    );
    const t0 = performance.now();
    ts.push(
      await startTsNode(`n${i + 1}`, runtime, ports[i], peers),
    );
    say(`up in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  }
  let go: Member | undefined;
  if (goBinary !== undefined) {
    say(`  starting node ${total}/${total} (go) on :${ports[total - 1]} … `);
    const t0 = performance.now();
    go = await startGoMember(goBinary, ports[total - 1], peers);
    say(`up in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  }
  const all = go ? [...ts, go] : ts;

  // The keys, and their owners as the ring computes them (the same ring
  // every node builds from the same peer list).
  const ring = new HttpPool(peers[0], { registry: new Registry() });
  ring.set(...peers);
  const byUrl = new Map(all.map((m) => [m.url, m]));
  const sourceWidth = new Map<string, number>();
  const images = readdirSync(IMAGES).filter((f) => formatOf(f)).sort();
  for (const file of images) {
    const { width } = await sharp(join(IMAGES, file)).metadata();
    sourceWidth.set(file, width);
  }
  const keys: Key[] = [];
  const addKey = (file: string, width: number) => {
    const key = `${file}?w=${width}`;
    keys.push({
      key,
      file,
      width,
      expectedWidth: Math.min(width, sourceWidth.get(file)!),
      owner: byUrl.get(ring.owner(key)!)!,
      repeats: [],
    });
  };
  for (const file of images) for (const w of WIDTHS) addKey(file, w);
  // Ownership is a hash of the ports: with few keys a node may own none, so
  // add widths of one image until every node owns at least one key.
  const extra = images.includes("big-file.jpg") ? "big-file.jpg" : images[0];
  let extraAdded = 0;
  // (The example rounds other widths up to one of these.)
  for (const w of THUMBNAIL_WIDTHS) {
    if (all.every((m) => keys.some((k) => k.owner === m))) break;
    if (WIDTHS.includes(w)) continue;
    addKey(extra, w);
    extraAdded++;
  }
  say(
    `  ${keys.length} keys: ${images.length} images × widths ${
      WIDTHS.join(", ")
    }${
      extraAdded
        ? `, plus ${extra} at ${extraAdded} more widths so every node owns a key`
        : ""
    }\n`,
  );

  const checkThumbnail = async (k: Key, got: Got, first: boolean) => {
    const where = `${k.key} via ${got.via.label}`;
    if (got.status !== 200) {
      problems.push(
        `${where}: HTTP ${got.status} ${
          new TextDecoder().decode(got.body).trim()
        }`,
      );
      return;
    }
    if (got.via.runtime !== "go" && got.owner !== k.owner.url) {
      problems.push(
        `${where}: x-groupcache-owner is ${got.owner}, the ring says ${k.owner.url}`,
      );
    }
    if (!first) {
      if (k.first && !sameBytes(got.body, k.first.body)) {
        problems.push(`${where}: different bytes than the first get`);
      }
      return;
    }
    if (k.owner.runtime === "go") {
      // tests/go/node's getter: "go:" + key for a key like ours.
      const want = new TextEncoder().encode(`go:${k.key}`);
      if (!sameBytes(got.body, want)) {
        problems.push(`${where}: not the Go node's value "go:${k.key}"`);
      }
      return;
    }
    try {
      const img = await sharp(got.body).metadata();
      if (img.format !== formatOf(k.file)) {
        problems.push(
          `${where}: a ${img.format} image, not ${formatOf(k.file)}`,
        );
      }
      if (img.width !== k.expectedWidth) {
        problems.push(
          `${where}: thumbnail is ${img.width} wide, expected ${k.expectedWidth}`,
        );
      }
    } catch (err) {
      problems.push(
        `${where}: the image does not decode: ${(err as Error).message}`,
      );
    }
  };

  // First gets: each key through a TypeScript node that does not own it.
  say("  first gets, each through a node that does not own its key … ");
  let t0 = performance.now();
  for (const [i, k] of keys.entries()) {
    const others = ts.filter((m) => m !== k.owner);
    const via = others[i % others.length];
    k.first = await get(via, thumbnailPath(k));
    await checkThumbnail(k, k.first, true);
    if (k.first.cache !== "miss") {
      problems.push(
        `${k.key} via ${via.label}: the first get was a cache ${k.first.cache}, expected a miss`,
      );
    }
  }
  say(`done in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);

  // Repeats: every key through every TypeScript node, ROUNDS times.
  say(
    `  repeated gets, every key through every node, ${ROUNDS} rounds … `,
  );
  t0 = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of keys) {
      for (const via of ts) {
        const got = await get(via, thumbnailPath(k));
        k.repeats.push(got);
        await checkThumbnail(k, got, false);
      }
    }
  }
  say(`done in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);

  if (go !== undefined) {
    say("  the Go node's own Get of every key … ");
    t0 = performance.now();
    for (const k of keys) {
      k.fromGo = await get(go, `/get?key=${encodeURIComponent(k.key)}`);
      await checkThumbnail(k, k.fromGo, false);
    }
    say(`done in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  }

  say("  reading /stats from every node … ");
  const counters = new Map<Member, NodeStats>();
  for (const m of all) {
    counters.set(m, await stats(m));
  }
  say("done\n");

  // Who ran the getter: exactly once per key cluster-wide, on the owner.
  // These come first in the report: they are what groupcache promises.
  const clusterProblems: string[] = [];
  const loaders = (k: Key) =>
    all.flatMap((m) =>
      Array(counters.get(m)!.loads.get(k.key) ?? 0).fill(m) as Member[]
    );
  for (const k of keys) {
    const ran = loaders(k);
    if (ran.length !== 1) {
      clusterProblems.push(
        `${k.key}: the getter ran ${ran.length} times (${
          ran.map((m) => m.label).join(", ") || "nowhere"
        }), expected once`,
      );
    } else if (ran[0] !== k.owner) {
      clusterProblems.push(
        `${k.key}: the getter ran on ${
          ran[0].label
        }, not on the owner ${k.owner.label}`,
      );
    }
  }
  const known = new Set(keys.map((k) => k.key));
  for (const m of all) {
    for (const key of counters.get(m)!.loads.keys()) {
      if (!known.has(key)) {
        clusterProblems.push(
          `${m.label} ran the getter for unasked key ${key}`,
        );
      }
    }
  }
  const sum = (f: (s: NodeStats) => number) =>
    all.reduce((n, m) => n + f(counters.get(m)!), 0);
  const peerLoads = sum((s) => s.peerLoads);
  const serverRequests = sum((s) => s.serverRequests);
  const peerErrors = sum((s) => s.peerErrors);
  if (peerErrors !== 0) clusterProblems.push(`${peerErrors} peer errors`);
  if (peerLoads !== serverRequests) {
    clusterProblems.push(
      `peer loads (${peerLoads}) differ from server requests (${serverRequests})`,
    );
  }

  problems.unshift(...clusterProblems);

  // ---- the report ----
  const out: string[] = [];
  out.push("");
  out.push(
    "keys (owner: the node the ring assigns the key to; getter ran on: " +
      "from each node's /stats)",
  );
  const keyRows = [[
    "key",
    "owner",
    "getter ran on",
    "first get",
    "",
    "",
    `repeats (${ROUNDS * ts.length})`,
    "cache hits",
  ]];
  for (const k of keys) {
    const ran = loaders(k);
    const hits = k.repeats.filter((g) => g.cache === "hit");
    const ownerHits = hits.filter((g) => g.via === k.owner).length;
    keyRows.push([
      k.key,
      k.owner.label,
      ran.length === 1
        ? `${ran[0].label} (once)`
        : `${ran.map((m) => m.label).join("+") || "none"} ✗`,
      `via ${k.first!.via.label}`,
      k.first!.cache ?? "?",
      ms(k.first!.ms),
      `median ${ms(median(k.repeats.map((g) => g.ms)))}`,
      `${hits.length}/${k.repeats.length} (${ownerHits} owner, ${
        hits.length - ownerHits
      } hot)`,
    ]);
  }
  out.push(table(keyRows, new Set([5])));
  out.push(
    "  a hit is a node's own cache: the main cache on the owner, the hot " +
      "cache elsewhere;\n  a miss on a non-owner is a fetch from the owner's " +
      "cache over HTTP, not a getter run.",
  );

  out.push("");
  out.push("nodes");
  const nodeRows = [[
    "node",
    "runtime",
    "url",
    "gets",
    "cache hits",
    "peer loads",
    "server requests",
    "getter runs",
    "main items",
    "hot items",
  ]];
  for (const m of all) {
    const s = counters.get(m)!;
    nodeRows.push([
      m.label,
      m.runtime,
      m.url,
      ...[
        s.gets,
        s.cacheHits,
        s.peerLoads,
        s.serverRequests,
        s.localLoads,
        s.mainItems,
        s.hotItems,
      ].map(String),
    ]);
  }
  out.push(table(nodeRows, new Set([3, 4, 5, 6, 7, 8, 9])));

  if (go !== undefined) {
    const goOwned = keys.filter((k) => k.owner === go);
    const sameAsTs = keys.filter((k) =>
      k.fromGo?.status === 200 && sameBytes(k.fromGo.body, k.first!.body)
    );
    out.push("");
    out.push('the Go node (github.com/golang/groupcache, group "thumbnails")');
    out.push(
      `  owns ${plural(goOwned.length, "key")}: ${
        goOwned.map((k) => k.key).join(", ")
      }.\n  It has no image code, so its getter answers "go:<key>" for the keys it owns; ` +
        "the TypeScript nodes\n  served exactly those bytes, fetched from Go " +
        "over the protobuf peer protocol.",
    );
    out.push(
      `  Its own Get of all ${keys.length} keys gave the same bytes as the ` +
        `TypeScript nodes for ${sameAsTs.length}:\n  ${
          keys.length - goOwned.length
        } thumbnails fetched from TypeScript owners, ${goOwned.length} its own.`,
    );
  }

  const firsts = keys.map((k) => k.first!.ms);
  const repeats = keys.flatMap((k) => k.repeats.map((g) => g.ms));
  const getterRuns = sum((s) => s.localLoads);
  const responses = keys.length * (1 + ROUNDS * ts.length) +
    (go ? keys.length : 0);
  out.push("");
  out.push("summary");
  out.push(
    `  ${responses} requests; ${getterRuns} getter runs for ${keys.length} keys; ` +
      `${peerLoads} peer loads = ${serverRequests} server requests`,
  );
  out.push(
    `  first get median ${ms(median(firsts))}, repeated get median ${
      ms(median(repeats))
    } (${Math.round(median(firsts) / median(repeats))}× faster)`,
  );
  out.push("");
  if (problems.length === 0) {
    out.push(
      "OK: every key's getter ran exactly once cluster-wide, on its owner; " +
        "every answer was 200 and the right bytes.",
    );
  } else {
    out.push(`FAILED: the cluster misbehaved (${problems.length} problems):`);
    for (const p of problems.slice(0, 40)) out.push(`  ✗ ${p}`);
    if (problems.length > 40) out.push(`  … and ${problems.length - 40} more`);
  }
  console.log(out.join("\n"));

  if (flags.keep) {
    console.log("\nthe cluster is still up; try:");
    for (const m of ts) {
      console.log(
        `  ${m.url}/   ${m.url}/thumbnails/big-file.jpg?w=200   ${m.url}/stats`,
      );
    }
    if (go) console.log(`  ${go.url}/stats   ${go.url}/loads`);
    console.log("press Ctrl-C to stop every node");
    keepCode = problems.length === 0 ? 0 : 1;
    await new Promise(() => setInterval(() => {}, 1 << 30));
  }
  return problems.length === 0 ? 0 : 1;
}

let keepCode: number | undefined;

if (import.meta.main) {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    if ((err as Error).message === "") {
      console.log(USAGE);
      process.exit(0);
    }
    console.error(`demo: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  // On Ctrl-C or SIGTERM: stop every node, then exit with the signal's code
  // (or, with --keep, with the verdict of the report).
  let stopped: Promise<void> | undefined;
  let signalCode = 1;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (stopped !== undefined) return;
    signalCode = keepCode ?? (signal === "SIGINT" ? 130 : 143);
    console.error(`\n${signal}: stopping ${plural(members.length, "node")} …`);
    stopped = stopMembers();
    stopped.finally(() => process.exit(signalCode));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  let code = 1;
  try {
    code = await main(flags);
  } catch (err) {
    // After a signal, errors of requests to stopped nodes are expected.
    if (stopped === undefined) {
      console.error(`\ndemo failed: ${(err as Error).message}`);
    }
  }
  if (stopped === undefined) {
    stopped = stopMembers();
    await stopped;
    process.exit(code);
  }
  await stopped;
  process.exit(signalCode);
}
