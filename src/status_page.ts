/**
 * The status page: a live picture of one node for the people who run it,
 * served by a handler the user mounts where they choose (never on the peer
 * path, never on by default). One self-contained HTML page — inline style,
 * script and SVG, nothing fetched from elsewhere — that draws the ring, the
 * peers' health and each group's hit ratio and memory over the last
 * minutes, refreshed from the same handler's JSON (`?format=json`, which is
 * `pool.status()`). It reads the pool only when asked: the peer path does
 * no work for it.
 *
 * @module
 */

import { type HttpPool, poolInternals } from "./http_pool.ts";
import type { PoolStatus } from "./status.ts";
import { ConfigError } from "./errors.ts";

/** Options of {@linkcode statusPage}. */
export interface StatusPageOptions {
  /**
   * Whether keys may appear (in peers' last errors). Default `false`: keys
   * stay out of the page and its JSON.
   */
  readonly keys?: boolean;
  /** How often the page asks for a fresh status, in milliseconds (default 2,000). */
  readonly refreshMs?: number;
  /** How much history the charts keep, in minutes (default 10). */
  readonly historyMinutes?: number;
}

/**
 * What the page's JSON adds to the status when asked with `&arcs=1`: the
 * ring's points (positions in `[0, 1)`, rounded) and the index of each
 * point's owner in `ring.members`, for drawing.
 */
export interface StatusPageJson extends PoolStatus {
  /** The ring's points, when asked for. */
  readonly arcs?: { readonly ends: number[]; readonly owners: number[] };
}

/**
 * A handler that serves a live status page of `pool`: `GET` gives the HTML
 * page, `GET ?format=json` the status it draws ({@linkcode HttpPool.status},
 * plus the ring's points with `&arcs=1`). Mount it on a path of your own,
 * away from the peers' `basePath` (and behind your own access control if
 * the node's port is reachable by others). Keys appear only with
 * `keys: true`. Other methods get `405`.
 *
 * @example Mounted at /status beside the peers
 * ```ts
 * import { HttpPool, Registry, statusPage } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://a:1", { registry: new Registry() });
 * pool.set("http://a:1", "http://b:1");
 * const status = statusPage(pool);
 * const app = (req: Request) =>
 *   new URL(req.url).pathname === "/status" ? status(req) : pool.handler(req);
 * // Deno.serve({ port: 8000 }, app)
 * const page = await app(new Request("http://a:1/status"));
 * assert.match(page.headers.get("content-type")!, /^text\/html/);
 * const json = await (await app(new Request("http://a:1/status?format=json"))).json();
 * assert.equal(json.ring.fingerprint, pool.ringFingerprint);
 * ```
 */
export function statusPage(
  pool: HttpPool,
  options: StatusPageOptions = {},
): (req: Request) => Response {
  const {
    keys = false,
    refreshMs = 2_000,
    historyMinutes = 10,
  } = options;
  if (typeof pool?.status !== "function") {
    throw new ConfigError("statusPage needs an HttpPool");
  }
  for (
    const [what, value] of [["refreshMs", refreshMs], [
      "historyMinutes",
      historyMinutes,
    ]] as const
  ) {
    if (!(typeof value === "number" && value > 0 && Number.isFinite(value))) {
      throw new ConfigError(
        `${what} must be a positive number, got ${String(value)}`,
      );
    }
  }
  const settings = JSON.stringify({
    refreshMs,
    historyMs: historyMinutes * 60_000,
  });
  return (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("status page: GET only\n", {
        status: 405,
        headers: { allow: "GET, HEAD", "content-type": "text/plain" },
      });
    }
    const query = new URL(req.url).searchParams;
    if (query.get("format") === "json") {
      const status: StatusPageJson = pool.status({ keys });
      const body = query.get("arcs") === "1"
        ? { ...status, arcs: arcsOf(pool, status) }
        : status;
      return new Response(JSON.stringify(body), {
        headers: {
          "content-type": "application/json",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        },
      });
    }
    const nonce = crypto.randomUUID();
    return new Response(page(nonce, settings), {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "content-security-policy": `default-src 'none'; connect-src 'self'; ` +
          `script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
          "img-src data:; frame-ancestors 'none'",
      },
    });
  };
}

/** The ring's points for drawing: positions rounded to 1e-6, owners by member index. */
function arcsOf(
  pool: HttpPool,
  status: PoolStatus,
): { ends: number[]; owners: number[] } {
  const { ends, owners } = poolInternals(pool)!.arcs();
  const index = new Map(status.ring.members.map((m, i) => [m.peer, i]));
  return {
    ends: Array.from(ends, (e) => Math.round(e * 1e6) / 1e6),
    owners: owners.map((o) => index.get(o) ?? -1),
  };
}

function page(nonce: string, settings: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>groupcache status</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <div class="title"><span id="dot" class="dot"></span><h1>groupcache</h1><span id="self" class="self"></span></div>
  <div id="summary" class="summary">loading…</div>
</header>
<div id="banner" class="banner" hidden></div>
<main>
  <section class="card ring-card"><h2>Ring</h2><svg id="ring" viewBox="0 0 240 240" role="img" aria-label="the hash ring"></svg></section>
  <section class="card peers-card"><h2>Peers</h2><div id="peers" class="peers"></div></section>
  <section class="card discovery-card"><h2>Discovery</h2><div id="discovery"></div></section>
  <section class="card groups-card"><h2>Groups</h2><div id="groups" class="groups"></div></section>
</main>
<script nonce="${nonce}">const SETTINGS = ${settings};
${SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #656d76; --line: #d8dee4;
  --bg: #f6f8fa; --card: #fff; --up: #1a7f37; --up-bg: #dafbe1; --down: #cf222e;
  --down-bg: #ffebe9; --self: #0969da; --self-bg: #ddf4ff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header { padding: 16px 20px 8px; max-width: 1240px; margin: 0 auto; }
.title { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 0 0 10px; }
.self { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--muted);
  overflow-wrap: anywhere; }
.summary { color: var(--muted); margin-top: 4px; overflow-wrap: anywhere; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: var(--muted); flex: none; }
.dot.live { background: var(--up); } .dot.stale { background: var(--down); }
.banner { max-width: 1200px; margin: 8px auto 0; padding: 8px 12px; border-radius: 6px;
  background: var(--down-bg); color: var(--down); }
main { display: grid; grid-template-columns: minmax(260px, 340px) 1fr; gap: 16px;
  grid-template-areas: "ring peers" "ring discovery" "groups groups"; align-items: start;
  padding: 12px 20px 24px; max-width: 1240px; margin: 0 auto; }
.ring-card { grid-area: ring; align-self: stretch; } .peers-card { grid-area: peers; }
.discovery-card { grid-area: discovery; } .groups-card { grid-area: groups; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; min-width: 0; }
#ring { width: 100%; max-width: 300px; display: block; margin: 0 auto; }
@media (max-width: 760px) { #ring { max-width: 230px; } }
.peer { display: grid; grid-template-columns: 14px minmax(0, 1fr) auto; gap: 2px 10px;
  align-items: center; padding: 7px 0; border-top: 1px solid var(--line); }
.peer:first-child { border-top: 0; }
.swatch { width: 12px; height: 12px; border-radius: 3px; }
.url { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
.facts { grid-column: 2 / -1; color: var(--muted); font-size: 12.5px; }
.err { grid-column: 2 / -1; color: var(--down); font-size: 12.5px; overflow-wrap: anywhere; }
.pill { font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; }
.pill.up { color: var(--up); background: var(--up-bg); }
.pill.down { color: var(--down); background: var(--down-bg); }
.tag { font: 600 11px system-ui, sans-serif; color: var(--self); background: var(--self-bg);
  padding: 1px 6px; border-radius: 8px; margin-left: 8px; white-space: nowrap; }
.groups { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 14px; }
.group { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.group h3 { margin: 0 0 6px; font-size: 15px; overflow-wrap: anywhere; }
.nums { display: flex; gap: 16px; flex-wrap: wrap; }
.num b { display: block; font-size: 18px; }
.num span { color: var(--muted); font-size: 12px; }
.bar { height: 6px; background: var(--bg); border-radius: 3px; overflow: hidden; margin: 2px 0 6px; }
.bar > div { height: 100%; background: #bf8700; }
.bar.hot > div { background: #8250df; }
.mem { font-size: 12.5px; color: var(--muted); }
.chart { width: 100%; height: auto; display: block; margin-top: 6px; }
.legend { font-size: 12px; color: var(--muted); display: flex; gap: 12px; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.source { padding: 6px 0; border-top: 1px solid var(--line); }
.source:first-child { border-top: 0; }
.muted { color: var(--muted); }
@media (max-width: 760px) {
  main { grid-template-columns: 1fr; padding: 10px 12px 20px; gap: 12px;
    grid-template-areas: "ring" "peers" "groups" "discovery"; }
  header { padding: 12px 12px 4px; }
  .groups { grid-template-columns: 1fr; }
}
`;

// The page's script: plain JavaScript, no template literals (it sits in one).
const SCRIPT = `
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
  "#9c755f", "#ff9da7", "#86bcb6", "#bab0ac"];
const DOWN = "#cf222e";
const $ = (id) => document.getElementById(id);
let arcs = null, fingerprint = null;
const samples = new Map(); // group -> [{ at, gets, hits, ratio, memory }]

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
}
function pct(x) { return x === null ? "–" : (x * 100).toFixed(1) + "%"; }
function ago(ms) {
  if (ms === null) return "never";
  const s = Math.max(0, ms) / 1000;
  if (s < 1) return "just now";
  if (s < 90) return Math.round(s) + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}
function count(n) { return n.toLocaleString("en-US"); }
function plural(n, what) { return count(n) + " " + what + (n === 1 ? "" : "s"); }
function ms(x) { return (x < 10 ? x.toFixed(1) : Math.round(x)) + " ms"; }

async function load(withArcs) {
  const res = await fetch("?format=json" + (withArcs ? "&arcs=1" : ""), { cache: "no-store" });
  if (!res.ok) throw new Error("status answered " + res.status);
  return res.json();
}

async function refresh() {
  try {
    let status = await load(arcs === null);
    if (status.ring.fingerprint !== fingerprint && !status.arcs) status = await load(true);
    if (status.arcs) { arcs = status.arcs; fingerprint = status.ring.fingerprint; }
    render(status);
    $("banner").hidden = true;
    $("dot").className = "dot live";
  } catch (err) {
    $("banner").hidden = false;
    $("banner").textContent = "Cannot read this node's status (" + err.message + "): showing the last one.";
    $("dot").className = "dot stale";
  }
  setTimeout(refresh, SETTINGS.refreshMs);
}

function colorOf(status, index) {
  const member = status.ring.members[index];
  if (member === undefined) return "#d0d7de";
  const health = status.peers.find((p) => p.peer === member.peer);
  if (health && health.state === "down") return DOWN;
  return PALETTE[index % PALETTE.length];
}

function render(status) {
  $("self").textContent = status.self;
  const down = status.peers.filter((p) => p.state === "down").length;
  $("summary").textContent = status.ring.members.length + " peers on a " + status.ring.kind +
    " ring (" + status.ring.replicas + " replicas, fingerprint " + status.ring.fingerprint + ")" +
    (down > 0 ? " · " + down + " down" : " · all up") +
    (status.closed ? " · pool closed" : "") +
    " · updated " + new Date(status.at).toLocaleTimeString("en-GB");
  renderRing(status);
  renderPeers(status);
  renderGroups(status);
  renderDiscovery(status);
}

function point(frac, r) {
  const a = frac * 2 * Math.PI - Math.PI / 2;
  return (120 + r * Math.cos(a)).toFixed(2) + " " + (120 + r * Math.sin(a)).toFixed(2);
}
function sector(from, to, r0, r1) {
  const large = to - from > 0.5 ? 1 : 0;
  return "M" + point(from, r1) + "A" + r1 + " " + r1 + " 0 " + large + " 1 " + point(to, r1) +
    "L" + point(to, r0) + "A" + r0 + " " + r0 + " 0 " + large + " 0 " + point(from, r0) + "Z";
}

function renderRing(status) {
  const ring = $("ring");
  ring.replaceChildren();
  ring.append(svg("circle", { cx: 120, cy: 120, r: 96, fill: "none", stroke: "#d0d7de", "stroke-width": 28 }));
  const n = arcs ? arcs.ends.length : 0;
  if (n === 0) {
    ring.append(svg("text", { x: 120, y: 124, "text-anchor": "middle", fill: "#656d76", "font-size": 12 },
      "no peers set: every key loads here"));
    return;
  }
  // Consecutive points of one owner make one arc.
  let start = arcs.ends[n - 1] - 1, owner = arcs.owners[0];
  for (let i = 0; i < n; i++) {
    const next = arcs.owners[(i + 1) % n];
    if (i === n - 1 || next !== owner) {
      const end = arcs.ends[i];
      if (end - start >= 1) {
        ring.append(svg("circle", { cx: 120, cy: 120, r: 96, fill: "none", stroke: colorOf(status, owner), "stroke-width": 28 }));
      } else {
        const path = svg("path", { d: sector(start, end, 82, 110), fill: colorOf(status, owner), "data-owner": owner });
        const member = status.ring.members[owner];
        path.append(svg("title", {}, member ? member.peer : "?"));
        ring.append(path);
      }
      start = end;
      owner = next;
    }
  }
  ring.append(svg("text", { x: 120, y: 116, "text-anchor": "middle", "font-size": 26, "font-weight": 600, fill: "#1f2328" },
    String(status.ring.members.length)));
  ring.append(svg("text", { x: 120, y: 136, "text-anchor": "middle", "font-size": 11, fill: "#656d76" },
    status.ring.members.length === 1 ? "peer" : "peers"));
  ring.append(svg("text", { x: 120, y: 152, "text-anchor": "middle", "font-size": 10, fill: "#656d76", "font-family": "monospace" },
    status.ring.fingerprint));
}

function renderPeers(status) {
  const rows = status.ring.members.map((m, i) => {
    const health = status.peers.find((p) => p.peer === m.peer);
    const self = m.peer === status.self;
    const state = health ? health.state : "up"; // this node is up: it answered
    const url = el("div", { class: "url" }, m.peer);
    if (self) url.append(el("span", { class: "tag" }, "this node"));
    const row = el("div", { class: "peer", "data-peer": m.peer, "data-state": state },
      el("div", { class: "swatch" }), url, el("span", { class: "pill " + state }, state));
    row.firstChild.style.background = colorOf(status, i);
    const facts = ["owns " + pct(m.share)];
    if (health) {
      facts.push("answered " + ago(health.lastAnswerAt === null ? null : status.at - health.lastAnswerAt));
      if (health.fetches) facts.push("fetch p50 " + ms(health.fetches.p50Ms) + ", p99 " + ms(health.fetches.p99Ms));
      if (health.consecutiveFailures > 0) {
        facts.push(plural(health.consecutiveFailures, "failure") + (health.probing ? ", probing" : ""));
      }
    }
    row.append(el("div", { class: "facts" }, facts.join(" · ")));
    if (health && health.lastError && health.state === "down") {
      row.append(el("div", { class: "err" }, health.lastError.reason + ": " + health.lastError.message));
    }
    return row;
  });
  if (rows.length === 0) rows.push(el("div", { class: "muted" }, "No peers set: this node loads every key itself."));
  $("peers").replaceChildren(...rows);
}

function renderGroups(status) {
  const cards = status.groups.map((g, gi) => {
    let h = samples.get(g.name);
    if (!h) samples.set(g.name, h = []);
    if (h.length === 0 || h[h.length - 1].at !== status.at) {
      const prev = h[h.length - 1];
      const dGets = prev ? g.stats.gets - prev.gets : 0;
      const ratio = dGets > 0 ? (g.stats.cacheHits - prev.hits) / dGets : prev ? prev.ratio : g.hitRatio;
      h.push({ at: status.at, gets: g.stats.gets, hits: g.stats.cacheHits, ratio: ratio,
        memory: g.cacheBytes > 0 ? (g.main.bytes + g.hot.bytes) / g.cacheBytes : 0 });
      while (h.length > 1 && h[0].at < status.at - SETTINGS.historyMs) h.shift();
    }
    const card = el("div", { class: "group", "data-group": g.name },
      el("h3", {}, g.name),
      el("div", { class: "nums" },
        el("div", { class: "num" }, el("b", {}, pct(g.hitRatio)), el("span", {}, "hit ratio")),
        el("div", { class: "num" }, el("b", {}, count(g.stats.gets)), el("span", {}, "gets")),
        el("div", { class: "num" }, el("b", {}, count(g.loadsInFlight)), el("span", {}, "loading")),
        el("div", { class: "num" }, el("b", {}, count(g.stats.peerLoads)), el("span", {}, "from peers"))));
    for (const [which, c] of [["main", g.main], ["hot", g.hot]]) {
      card.append(el("div", { class: "mem" }, which + ": " + bytes(c.bytes) + " of " + bytes(c.budgetBytes) +
        " · " + count(c.items) + " items · " + count(c.evictions) + " evicted"));
      const bar = el("div", { class: "bar " + which }, el("div", {}));
      bar.firstChild.style.width = (c.budgetBytes > 0 ? Math.min(100, 100 * c.bytes / c.budgetBytes) : 0) + "%";
      card.append(bar);
    }
    card.append(chart(h, gi, status.at));
    card.append(el("div", { class: "legend" },
      el("span", {}, el("i", { class: "l-hit" }), "hit ratio"),
      el("span", {}, el("i", { class: "l-mem" }), "memory of budget"),
      el("span", {}, "0–100%")));
    card.querySelector(".l-hit").style.background = "#0969da";
    card.querySelector(".l-mem").style.background = "#bf8700";
    return card;
  });
  if (cards.length === 0) cards.push(el("div", { class: "muted" }, "No groups on this node yet."));
  $("groups").replaceChildren(...cards);
}

function chart(h, gi, now) {
  // The window grows with the history kept, from one minute to historyMs.
  const W = 300, H = 80;
  const span = Math.min(SETTINGS.historyMs, Math.max(60000, now - h[0].at));
  const x = (at) => (W - (now - at) / span * W).toFixed(1);
  const y = (v) => (4 + (1 - Math.max(0, Math.min(1, v))) * (H - 18)).toFixed(1);
  const e = svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "hit ratio and memory" });
  for (const v of [0, 0.5, 1]) {
    e.append(svg("line", { x1: 0, x2: W, y1: y(v), y2: y(v), stroke: "#eaeef2", "stroke-width": 1 }));
  }
  const label = (x, text, anchor) => svg("text", { x: x, y: H - 2, "font-size": 9, fill: "#8c959f", "text-anchor": anchor }, text);
  e.append(svg("text", { x: 2, y: 12, "font-size": 9, fill: "#8c959f" }, "100%"));
  e.append(label(2, span >= 120000 ? "-" + Math.round(span / 60000) + " min" : "-" + Math.round(span / 1000) + " s", "start"));
  e.append(label(W - 2, "now", "end"));
  const hits = h.filter((p) => p.ratio !== null).map((p) => x(p.at) + "," + y(p.ratio)).join(" ");
  const memory = h.map((p) => x(p.at) + "," + y(p.memory)).join(" ");
  e.append(svg("polyline", { class: "memory-line", points: memory, fill: "none", stroke: "#bf8700", "stroke-width": 1.5, "stroke-dasharray": "4 3" }));
  e.append(svg("polyline", { class: "hit-line", id: "hit-" + gi, points: hits, fill: "none", stroke: "#0969da", "stroke-width": 2 }));
  return e;
}

function renderDiscovery(status) {
  const rows = status.discovery.map((d) => {
    const row = el("div", { class: "source" }, el("div", { class: "url" }, d.source),
      el("div", { class: "facts" }, plural(d.peers, "peer") + " · answered " +
        ago(d.lastUpdateAt === null ? null : status.at - d.lastUpdateAt) + " · list changed " +
        ago(d.lastChangeAt === null ? null : status.at - d.lastChangeAt)));
    if (d.lastError) row.append(el("div", { class: "err" }, "failed " + ago(status.at - d.lastError.at) + ": " + d.lastError.message));
    return row;
  });
  if (rows.length === 0) rows.push(el("div", { class: "muted" }, "No peer source: the peer list is set with pool.set()."));
  $("discovery").replaceChildren(...rows);
}

refresh();
`;
