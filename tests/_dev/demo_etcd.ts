/**
 * `deno task demo --etcd`: nodes that find each other through a real etcd.
 *
 * Starts etcd (Debian's etcd-server, as the tests do) and three node
 * processes of tests/_dev/discovery_node.ts (Deno and Bun alternately, as
 * far as they are installed), each registering itself under one prefix with a 2 s
 * lease. The report shows the rings converging (every node's peer list and
 * ring fingerprint the same), a node killed with SIGKILL leaving (its lease
 * expires: the others drop it within TTL + 1 s), a new node joining, that
 * each key was loaded once while the ring held still, and each node's
 * `/metrics`. It returns 1 if the cluster misbehaves.
 *
 * @module
 */
import process from "node:process";
import { join, root } from "./paths.ts";
import { freePorts } from "./ports.ts";
import { type Server, startServer, stopAll } from "./proc.ts";
import { findBun, findDeno, runtimeCommand } from "./runtimes.ts";
import { type Etcd, hasService, startEtcd, waitFor } from "./services.ts";

const NODE = join(root, "tests", "_dev", "discovery_node.ts");
const PREFIX = "/groupcache/demo/";
const TTL_SECONDS = 2;
const KEYS = Array.from({ length: 12 }, (_, i) => `key-${i}`);

interface DemoNode {
  label: string;
  url: string;
  runtime: "deno" | "bun";
  server: Server;
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return await res.json() as T;
}

async function text(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return await res.text();
}

/** Each node's view: its peers and ring fingerprint. */
async function views(nodes: DemoNode[]) {
  return await Promise.all(nodes.map(async (n) => ({
    node: n,
    peers: await json<string[]>(`${n.url}/peers`),
    ring: await text(`${n.url}/ring`),
  })));
}

/** True when every node lists exactly `urls` and all fingerprints agree. */
async function converged(nodes: DemoNode[]): Promise<boolean> {
  const urls = nodes.map((n) => n.url).sort().join(" ");
  try {
    const seen = await views(nodes);
    return seen.every((v) =>
      v.peers.join(" ") === urls && v.ring === seen[0].ring
    );
  } catch {
    return false;
  }
}

/** Runs the etcd demo; resolves with the exit code. */
export async function demoEtcd(quiet: boolean): Promise<number> {
  const say = quiet ? () => {} : (s: string) => process.stdout.write(s);
  if (!hasService("etcd")) {
    console.error(
      "demo --etcd needs etcd: apt-get install --no-install-recommends etcd-server",
    );
    return 1;
  }
  const problems: string[] = [];
  const out: string[] = [];
  let etcd: Etcd | undefined;
  try {
    say("starting etcd … ");
    etcd = await startEtcd();
    say(`${etcd.endpoint}\n`);
    const ports = await freePorts(4);
    // Deno and Bun alternately, as far as they are installed.
    const runtimes = (["deno", "bun"] as const).filter((r) =>
      (r === "deno" ? findDeno() : findBun()) !== undefined
    );
    const start = async (i: number): Promise<DemoNode> => {
      const runtime = runtimes[i % runtimes.length];
      const [cmd, args] = runtimeCommand(NODE, [
        "--host",
        "127.0.0.1",
        "--port",
        String(ports[i]),
        "--etcd",
        `${etcd!.endpoint},${PREFIX},${TTL_SECONDS}`,
      ], runtime);
      const server = await startServer(cmd, args, {
        name: `node n${i + 1}`,
        timeoutMs: 30_000,
      });
      return {
        label: `n${i + 1}`,
        url: `http://127.0.0.1:${ports[i]}`,
        runtime,
        server,
      };
    };
    say("starting n1 n2 n3 … ");
    const nodes = await Promise.all([0, 1, 2].map(start));
    say("started\n");

    const t1 = await waitFor(
      "3 rings converge",
      () => converged(nodes),
      10_000,
    );
    const first = await views(nodes);
    out.push("", "groupcache over etcd: nodes join, leave and converge", "");
    out.push(
      `1. ${nodes.map((n) => `${n.label} (${n.runtime})`).join(", ")} ` +
        `registered under ${PREFIX} with ${TTL_SECONDS} s leases; rings ` +
        `converged in ${Math.round(t1)} ms, fingerprint ${first[0].ring}:`,
    );
    for (const v of first) {
      out.push(`   ${v.node.label} ${v.node.url}: ${v.peers.join(" ")}`);
    }

    // Every key through every node: each must load once, on its owner.
    for (const n of nodes) {
      for (const key of KEYS) await text(`${n.url}/get?key=${key}`);
    }
    const loads = await Promise.all(
      nodes.map((n) => json<Record<string, number>>(`${n.url}/loads`)),
    );
    const twice = KEYS.filter((k) =>
      loads.reduce((sum, l) => sum + (l[k] ?? 0), 0) !== 1
    );
    out.push(
      `   ${KEYS.length} keys asked through every node: ` +
        (twice.length === 0
          ? "each loaded exactly once cluster-wide"
          : `loaded more than once: ${twice.join(" ")}`),
    );
    if (twice.length > 0) {
      problems.push(`keys loaded twice: ${twice.join(" ")}`);
    }

    // n3 dies without a word: its lease expires.
    const killed = nodes[2];
    process.kill(killed.server.pid, "SIGKILL");
    await killed.server.stop();
    const left = nodes.slice(0, 2);
    const t2 = await waitFor(
      "the survivors drop n3",
      () => converged(left),
      (TTL_SECONDS + 5) * 1000,
    );
    out.push(
      "",
      `2. ${killed.label} killed with SIGKILL: ${
        left.map((n) => n.label).join(" and ")
      } dropped it after ${Math.round(t2)} ms (lease TTL ${TTL_SECONDS} s); ` +
        `ring ${(await views(left))[0].ring}`,
    );
    if (t2 > (TTL_SECONDS + 1) * 1000) {
      problems.push(`n3 dropped after ${Math.round(t2)} ms, past TTL + 1 s`);
    }

    // n4 joins.
    const joined = await start(3);
    const now = [...left, joined];
    const t3 = await waitFor("n4 joins", () => converged(now), 10_000);
    const last = await views(now);
    out.push(
      "",
      `3. ${joined.label} (${joined.runtime}) started: every ring has it after ` +
        `${Math.round(t3)} ms, fingerprint ${last[0].ring}:`,
    );
    for (const v of last) {
      out.push(`   ${v.node.label} ${v.node.url}: ${v.peers.join(" ")}`);
    }
    for (const n of now) {
      for (const key of KEYS) await text(`${n.url}/get?key=${key}`);
    }

    out.push("", "4. each node's /metrics (samples, histograms left out):");
    for (const n of now) {
      const metrics = await text(`${n.url}/metrics`);
      out.push(`   ${n.label} ${n.url}/metrics`);
      for (const line of metrics.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        if (line.startsWith("groupcache_peer_fetch_duration_seconds")) continue;
        if (/ 0$/.test(line) && !line.startsWith("groupcache_peer_up")) {
          continue;
        }
        out.push(`     ${line}`);
      }
    }
    out.push("");
    out.push(
      problems.length === 0
        ? "OK: the rings converged after each join and leave; each key loaded once while the ring held still."
        : `FAILED: ${problems.join("; ")}`,
    );
    console.log(out.join("\n"));
    return problems.length === 0 ? 0 : 1;
  } catch (err) {
    console.log(out.join("\n"));
    console.error(`\ndemo --etcd failed: ${(err as Error).message}`);
    return 1;
  } finally {
    await stopAll();
    await etcd?.close();
  }
}
