// Three node processes (tests/_dev/discovery_node.ts, on the runtime running
// this test) that find each other through a real dnsmasq, then through a real
// etcd: the rings converge after a record change or a kill -9 (DNS within one
// interval, etcd within the lease TTL + 1 s), no key that did not move is
// loaded twice, nodes register again when etcd restarts without its data,
// and promtool passes on a busy node's metrics. Runs under Deno and Bun.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { join, root } from "./_dev/paths.ts";
import { freePorts } from "./_dev/ports.ts";
import { runToExit, type Server, startServer } from "./_dev/proc.ts";
import { runtimeCommand } from "./_dev/runtimes.ts";
import {
  type Dnsmasq,
  type Etcd,
  etcdKeys,
  promtoolCheck,
  skipWithout,
  startDnsmasq,
  startEtcd,
  waitFor,
} from "./_dev/services.ts";

const NODE = join(root, "tests", "_dev", "discovery_node.ts");
const CLOSE = join(root, "tests", "_dev", "discovery_close.ts");
const KEYS = Array.from({ length: 48 }, (_, i) => `key-${i}`);
const DNS_INTERVAL_MS = 300;
/** What a DNS convergence may take beyond one interval: the lookup, this test's polling. */
const SLACK_MS = 250;
const ETCD_TTL_S = 2;

interface Node {
  url: string;
  server: Server;
}

async function startNode(host: string, port: number, how: string[]) {
  const [cmd, args] = runtimeCommand(NODE, [
    "--host",
    host,
    "--port",
    String(port),
    ...how,
  ]);
  const server = await startServer(cmd, args, {
    cwd: root,
    timeoutMs: 30_000,
    name: `node ${host}:${port}`,
  });
  return { url: server.address, server };
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return await res.json() as T;
}

/** Resolves with the time it took once every node lists exactly `nodes`. */
function converged(nodes: Node[], timeoutMs: number, from = performance.now()) {
  const want = JSON.stringify(nodes.map((n) => n.url).sort());
  return waitFor(
    `every ring is ${want}`,
    async () => {
      const rings = await Promise.all(
        nodes.map((n) => json<string[]>(n.url + "/peers")),
      );
      return rings.every((r) => JSON.stringify(r) === want);
    },
    timeoutMs,
    10,
  ).then(() => performance.now() - from);
}

/** Gets every key through every node; returns each key's owner (all nodes agree). */
async function getAll(nodes: Node[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  for (const key of KEYS) {
    for (const node of nodes) {
      const res = await fetch(
        `${node.url}/get?key=${encodeURIComponent(key)}`,
        { signal: AbortSignal.timeout(10_000) },
      );
      const text = await res.text();
      assert.equal(res.status, 200, text);
      const owner = res.headers.get("x-owner")!;
      assert.equal(owners.get(key) ?? owner, owner, `one owner for ${key}`);
      owners.set(key, owner);
      // The owner's value, or one a hot cache kept from a former owner.
      assert.match(text, new RegExp(`^${key} loaded by http://`));
    }
  }
  return owners;
}

/** Getter runs by key, summed over `nodes`. */
async function loads(nodes: Node[]): Promise<Map<string, number>> {
  const sum = new Map<string, number>();
  for (const node of nodes) {
    for (
      const [key, n] of Object.entries(
        await json<Record<string, number>>(node.url + "/loads"),
      )
    ) {
      sum.set(key, (sum.get(key) ?? 0) + n);
    }
  }
  return sum;
}

/**
 * Kills `victim` with SIGKILL, lets `change` run, waits for `rest` to
 * converge, gets every key again, and checks that only the victim's keys
 * were loaded again (once at most). Returns the convergence time.
 */
async function killAndCheck(
  nodes: Node[],
  victim: Node,
  timeoutMs: number,
  change?: () => Promise<void>,
): Promise<number> {
  const changed = change !== undefined;
  const rest = nodes.filter((n) => n !== victim);
  const owners = await getAll(nodes);
  const before = await loads(rest);
  const killed = performance.now();
  process.kill(victim.server.pid, "SIGKILL");
  await victim.server.stop();
  await change?.();
  // From the change of the records (DNS), or from the kill (etcd).
  const start = changed ? performance.now() : killed;
  const took = await converged(rest, timeoutMs, start);
  await getAll(rest);
  const afterwards = await loads(rest);
  let moved = 0;
  for (const key of KEYS) {
    const again = (afterwards.get(key) ?? 0) - (before.get(key) ?? 0);
    if (owners.get(key) === victim.url) {
      moved++;
      // Loaded once by its new owner, unless a hot cache there kept it.
      assert.ok(
        again <= 1,
        `${key} moved: loaded ${again} times, once at most`,
      );
    } else {
      assert.equal(again, 0, `${key} did not move: not loaded again`);
    }
  }
  assert.ok(moved > 0 && moved < KEYS.length, `${moved} keys moved`);
  return took;
}

describe(
  "three nodes through dnsmasq",
  { skip: skipWithout("dnsmasq") },
  () => {
    let dns: Dnsmasq;
    let nodes: Node[] = [];
    let port = 0;
    const hosts = (...last: number[]) =>
      last.map((n) => `127.0.0.${n} peers.test`).join("\n") + "\n";
    const start = (last: number) =>
      startNode(`127.0.0.${last}`, port, [
        "--dns",
        `peers.test,A,${dns.nameServer},${DNS_INTERVAL_MS}`,
      ]);

    before(async () => {
      dns = await startDnsmasq({ hosts: hosts(11, 12, 13) });
      [port] = await freePorts(1);
      nodes = await Promise.all([11, 12, 13].map(start));
    }, { timeout: 60_000 });

    after(async () => {
      await Promise.all(nodes.map((n) => n.server.stop()));
      await dns?.close();
    });

    it("find each other and share the keys, each loaded once", async () => {
      await converged(nodes, 10_000);
      const owners = await getAll(nodes);
      assert.equal(new Set(owners.values()).size, 3, "each node owns keys");
      for (const [key, n] of await loads(nodes)) assert.equal(n, 1, key);
    });

    it("converge within one interval once a killed node's record is gone; only its keys load again", async () => {
      const [a, b, c] = nodes;
      const took = await killAndCheck(
        nodes,
        c,
        DNS_INTERVAL_MS * 3,
        () => dns.setHosts(hosts(11, 12)),
      );
      console.log(
        `dns cluster: record removed → rings converged in ${
          Math.round(took)
        } ms (interval ${DNS_INTERVAL_MS} ms)`,
      );
      assert.ok(took <= DNS_INTERVAL_MS + SLACK_MS, `${took} ms`);
      nodes = [a, b];
    });

    it("converge within one interval when a node's record is added", async () => {
      const joining = await start(14);
      const all = [...nodes, joining];
      nodes = all;
      const t0 = performance.now();
      await dns.setHosts(hosts(11, 12, 14));
      const took = await converged(all, DNS_INTERVAL_MS * 3, t0);
      console.log(
        `dns cluster: record added → rings converged in ${
          Math.round(took)
        } ms (interval ${DNS_INTERVAL_MS} ms)`,
      );
      assert.ok(took <= DNS_INTERVAL_MS + SLACK_MS, `${took} ms`);
    });
  },
);

describe("three nodes through etcd", { skip: skipWithout("etcd") }, () => {
  let etcd: Etcd;
  let nodes: Node[] = [];
  const prefix = "/groupcache/cluster-test/";

  before(async () => {
    etcd = await startEtcd();
    const ports = await freePorts(3);
    nodes = await Promise.all(ports.map((p) =>
      startNode("127.0.0.1", p, [
        "--etcd",
        `${etcd.endpoint},${prefix},${ETCD_TTL_S}`,
      ])
    ));
  }, { timeout: 60_000 });

  after(async () => {
    await Promise.all(nodes.map((n) => n.server.stop()));
    await etcd?.close();
  });

  it("find each other and share the keys, each loaded once", async () => {
    await converged(nodes, 10_000);
    await getAll(nodes);
    for (const [key, n] of await loads(nodes)) assert.equal(n, 1, key);
  });

  it("drop a node killed with kill -9 within the lease TTL + 1 s; only its keys load again", async () => {
    const [a, b, c] = nodes;
    const took = await killAndCheck(nodes, c, (ETCD_TTL_S + 3) * 1000);
    console.log(
      `etcd cluster: kill -9 → rings converged in ${
        Math.round(took)
      } ms (TTL ${ETCD_TTL_S} s)`,
    );
    assert.ok(took <= (ETCD_TTL_S + 1) * 1000, `${took} ms`);
    nodes = [a, b];
  });

  it("register again when etcd restarts without its data, and load nothing again", async () => {
    const before = await loads(nodes);
    const t0 = performance.now();
    await etcd.kill();
    await etcd.start({ wipe: true });
    const restarted = performance.now() - t0;
    await waitFor(
      "both nodes registered again",
      async () =>
        Object.keys(await etcdKeys(etcd.endpoint, prefix)).length === 2,
      (ETCD_TTL_S + 5) * 1000,
      20,
    );
    console.log(
      `etcd cluster: etcd killed and back without its data after ${
        Math.round(restarted)
      } ms → both nodes registered again ${
        Math.round(performance.now() - t0)
      } ms after the kill`,
    );
    await converged(nodes, 5_000);
    const registrations = (node: Node) =>
      node.server.output().match(/INFO groupcache etcd \S+ registered http/g)
        ?.length ?? 0;
    // Each says so once its put answered (its key may show a little earlier).
    await waitFor(
      "both nodes log their new registration",
      () => nodes.every((n) => registrations(n) >= 2),
      5_000,
    ).catch(() => {}); // the assertion below says what was logged
    for (const node of nodes) {
      assert.equal(registrations(node), 2, node.server.output());
    }
    await getAll(nodes);
    assert.deepEqual(await loads(nodes), before);
  });

  it("serve metrics that promtool passes on a busy node", {
    skip: skipWithout("promtool"),
  }, async () => {
    for (let round = 0; round < 3; round++) await getAll(nodes);
    const res = await fetch(nodes[0].url + "/metrics");
    const text = await res.text();
    assert.equal(await promtoolCheck(text), "", text);
    assert.match(text, /^groupcache_ring_peers 2$/m);
    assert.match(
      text,
      /^groupcache_server_requests_total\{group="test"\} [1-9]/m,
    );
    assert.match(
      text,
      new RegExp(
        `^groupcache_peer_fetch_duration_seconds_count\\{peer="${
          nodes[1].url
        }"\\} [1-9]`,
        "m",
      ),
    );
  });
});

describe("a process whose discovery is closed", () => {
  /** Runs tests/_dev/discovery_close.ts; resolves with how long it lived after close(). */
  async function exitAfterClose(args: string[]): Promise<string[]> {
    const [cmd, argv] = runtimeCommand(CLOSE, args);
    const r = await runToExit(cmd, argv, { cwd: root, timeoutMs: 20_000 });
    const exited = Date.now();
    const closed = r.stdout.match(/^closed (\d+)$/m);
    assert.ok(closed, r.stdout + r.stderr);
    assert.equal(r.code, 0, r.stderr);
    const lived = exited - Number(closed[1]);
    assert.ok(lived < 1_000, `exited ${lived} ms after close()`);
    if (args.includes("--pool")) {
      assert.match(r.stdout, /^got here k\d+$/m, "the waiting get loaded here");
    }
    return r.stdout.match(/^peers (.*)$/m)![1].split(" ");
  }

  it("exits by itself within 1 s after dnsPeers(...).close()", {
    skip: skipWithout("dnsmasq"),
  }, async () => {
    const dns = await startDnsmasq({
      hosts: "127.0.0.11 peers.test\n127.0.0.12 peers.test\n",
    });
    try {
      assert.equal((await exitAfterClose(["--dns", dns.nameServer])).length, 2);
    } finally {
      await dns.close();
    }
  });

  for (const byPool of [false, true]) {
    it(
      byPool
        ? "exits by itself within 1 s after pool.close(): etcd deregistered, a waiting get loaded here"
        : "exits by itself within 1 s after etcdPeers(...).close(), deregistered",
      { skip: skipWithout("etcd") },
      async () => {
        const etcd = await startEtcd();
        try {
          await fetch(`${etcd.endpoint}/v3/kv/put`, {
            method: "POST",
            body: JSON.stringify({
              key: btoa("/groupcache/close-test/other"),
              value: btoa("http://127.0.0.12:8000"),
            }),
          });
          const args = ["--etcd", etcd.endpoint, ...(byPool ? ["--pool"] : [])];
          assert.equal((await exitAfterClose(args)).length, 2);
          assert.deepEqual(
            Object.keys(
              await etcdKeys(etcd.endpoint, "/groupcache/close-test/"),
            ),
            ["/groupcache/close-test/other"],
          );
        } finally {
          await etcd.close();
        }
      },
    );
  }

  it("exits by itself within 1 s after pool.close() stops dnsPeers", {
    skip: skipWithout("dnsmasq"),
  }, async () => {
    const dns = await startDnsmasq({
      hosts: "127.0.0.11 peers.test\n127.0.0.12 peers.test\n",
    });
    try {
      const args = ["--dns", dns.nameServer, "--pool"];
      assert.equal((await exitAfterClose(args)).length, 2);
    } finally {
      await dns.close();
    }
  });
});
