// etcdPeers (src/etcd.ts) against a real etcd 3.4 started in a temporary
// directory on free ports: registration with a lease, the watch, close()
// revoking the lease, a node cut off past its TTL, etcd restarted with and
// without its data. Runs under Deno and Bun.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  etcdPeers,
  type EtcdPeersOptions,
  HttpPool,
  type PeerDiscovery,
  Registry,
} from "../mod.ts";
import { rangeEnd } from "../src/etcd.ts";
import { recordingLogger } from "./_dev/logs.ts";
import {
  type Etcd,
  etcdKeys,
  skipWithout,
  startEtcd,
  waitFor,
} from "./_dev/services.ts";

interface Member {
  url: string;
  pool: HttpPool;
  discovery: PeerDiscovery;
  log: ReturnType<typeof recordingLogger>;
  /** Set to cut this node off from etcd (its requests fail). */
  cut: boolean;
}

describe("etcdPeers against etcd", { skip: skipWithout("etcd") }, () => {
  let etcd: Etcd;
  let prefixes = 0;
  const members: Member[] = [];

  before(async () => {
    etcd = await startEtcd();
  }, { timeout: 30_000 });

  after(async () => {
    await Promise.all(members.map((m) => m.discovery.close()));
    await etcd?.close();
  });

  /** `n` nodes registering under a prefix of their own. */
  function join(
    n: number,
    options: Partial<EtcdPeersOptions> = {},
  ): { prefix: string; nodes: Member[]; add(): Member } {
    const prefix = `/groupcache-test/${++prefixes}/`;
    const nodes: Member[] = [];
    const add = () => {
      const url = `http://10.0.0.${nodes.length + 1}:8000`;
      const pool = new HttpPool(url, { registry: new Registry() });
      const log = recordingLogger();
      const member = { url, pool, log, cut: false } as Member;
      member.discovery = etcdPeers(pool, {
        endpoint: etcd.endpoint,
        prefix,
        ttlSeconds: 2,
        requestTimeoutMs: 1_000,
        logger: log.logger,
        fetch: (input, init) =>
          member.cut
            ? Promise.reject(new TypeError("cut off from etcd"))
            : fetch(input, init),
        ...options,
      });
      nodes.push(member);
      members.push(member);
      return member;
    };
    for (let i = 0; i < n; i++) add();
    return { prefix, nodes, add };
  }

  /**
   * Asserts that `m` logged `count` lines at `level` matching `pattern`,
   * waiting (bounded) for them: a node's peers may see its key before its own
   * put has answered and been logged.
   */
  async function logged(
    m: Member,
    level: "info" | "warn",
    pattern: RegExp,
    count: number,
  ) {
    await waitFor(
      `${m.url} logs ${pattern} ${count} times`,
      () => m.log.find(level, pattern).length >= count,
      5_000,
    ).catch(() => {}); // the assertion below says what was logged
    assert.equal(
      m.log.find(level, pattern).length,
      count,
      m.log.lines.join("\n"),
    );
  }

  /** Resolves once every node in `nodes` lists exactly `urls`. */
  function converged(nodes: Member[], urls: string[], timeoutMs = 10_000) {
    const want = JSON.stringify([...urls].sort());
    return waitFor(
      `every ring is ${want}`,
      () => nodes.every((m) => JSON.stringify(m.pool.peers) === want),
      timeoutMs,
      10,
    );
  }

  it("registers every node under the prefix and gives each the same sorted list", async () => {
    const { prefix, nodes } = join(3);
    const urls = nodes.map((m) => m.url);
    await converged(nodes, urls);
    assert.deepEqual(
      await etcdKeys(etcd.endpoint, prefix),
      Object.fromEntries(urls.map((u) => [prefix + u, u])),
    );
    for (const m of nodes) {
      assert.deepEqual(m.discovery.peers, urls);
      await logged(m, "info", /registered http/, 1);
      assert.deepEqual(m.log.find("warn", /./), []);
    }
  });

  it("drops a node at once when it closes (close() revokes its lease; the IDs exceed 2^53)", async () => {
    const { prefix, nodes } = join(3, { ttlSeconds: 30 });
    await converged(nodes, nodes.map((m) => m.url));
    const [lease] = nodes[2].log.find("info", /registered/)[0].match(
      /lease (\d+)/,
    )!.slice(1);
    assert.ok(BigInt(lease) > 2n ** 53n, `lease ${lease} fits a double`);
    const leases = await (await fetch(`${etcd.endpoint}/v3/lease/leases`, {
      method: "POST",
      body: "{}",
    })).json() as { leases: { ID: string }[] };
    assert.ok(leases.leases.some((l) => l.ID === lease), "the exact ID");
    const start = performance.now();
    await nodes[2].discovery.close();
    const took = await converged(nodes.slice(0, 2), [
      nodes[0].url,
      nodes[1].url,
    ]);
    console.log(
      `etcd: closed node dropped by the others in ${
        Math.round(performance.now() - start)
      } ms`,
    );
    assert.ok(took < 1_000, `${took} ms, TTL 30 s`);
    assert.equal(Object.keys(await etcdKeys(etcd.endpoint, prefix)).length, 2);
    assert.deepEqual(nodes[2].log.find("info", /deregistered/), [
      `groupcache etcd ${etcd.endpoint}: deregistered ${
        nodes[2].url
      } (lease ${lease} revoked)`,
    ]);
  });

  it("drops a node cut off from etcd within TTL + 1 s, and takes it back when it returns", async () => {
    const { nodes } = join(3);
    const urls = nodes.map((m) => m.url);
    await converged(nodes, urls);
    const [a, b, c] = nodes;
    c.cut = true;
    const took = await converged([a, b], [a.url, b.url], 5_000);
    console.log(
      `etcd: node cut off dropped by the others after ${
        Math.round(took)
      } ms (TTL 2 s)`,
    );
    assert.ok(took <= 3_000, `${took} ms`);
    // It keeps its last list meanwhile, and says once why.
    assert.deepEqual(c.pool.peers, urls);
    await waitFor(
      "c warns",
      () => c.log.find("warn", /cannot keep/).length > 0,
    );
    c.cut = false;
    await converged(nodes, urls);
    assert.equal(
      c.log.find("warn", /cannot keep http:\/\/10\.0\.0\.3:8000 registered/)
        .length,
      1,
    );
    assert.equal(
      c.log.find("warn", /has expired/).length,
      1,
      c.log.lines.join("\n"),
    );
    await logged(c, "info", /registered http/, 2);
  });

  it("follows etcd through a restart with its data: the watch resumes", async () => {
    const { nodes, add } = join(2, { ttlSeconds: 5 });
    await converged(nodes, nodes.map((m) => m.url));
    await etcd.kill();
    await waitFor(
      "the watches notice",
      () => nodes.every((m) => m.log.find("warn", /cannot watch/).length > 0),
    );
    // Down long enough for retries, which fail in other words than the
    // broken stream did: still one warning per failing loop.
    await new Promise((resolve) => setTimeout(resolve, 700));
    await etcd.start();
    const third = add();
    await converged(nodes, nodes.map((m) => m.url));
    for (const m of nodes.slice(0, 2)) {
      assert.equal(
        m.log.find("info", /watching \/groupcache-test\/\d+\/ again/).length,
        1,
        m.log.lines.join("\n"),
      );
      const watchWarnings = m.log.find("warn", /cannot watch/);
      assert.equal(watchWarnings.length, 1, watchWarnings.join("\n"));
      assert.match(watchWarnings[0], /keeping the last list of 2 peers/);
      assert.ok(m.log.find("warn", /cannot keep/).length <= 1);
    }
    assert.deepEqual(third.log.find("warn", /./), []);
  });

  it("registers every node again when etcd comes back without its data", async () => {
    const { prefix, nodes } = join(3);
    const urls = nodes.map((m) => m.url);
    await converged(nodes, urls);
    await etcd.kill();
    await etcd.start({ wipe: true });
    const start = performance.now();
    await waitFor(
      "all three registered again",
      async () =>
        Object.keys(await etcdKeys(etcd.endpoint, prefix)).length === 3,
      10_000,
      50,
    );
    await converged(nodes, urls);
    console.log(
      `etcd: wiped and restarted → every node registered again in ${
        Math.round(performance.now() - start)
      } ms`,
    );
    for (const m of nodes) {
      // Registered at the start and again after the wipe. While etcd comes
      // back, the keepalive and the watch can each find the key gone, so a
      // node may put it twice (the same key and value: harmless).
      const count = () => m.log.find("info", /registered http/).length;
      await waitFor(`${m.url} registered again`, () => count() >= 2, 5_000)
        .catch(() => {}); // the assertion below says what was logged
      const registered = count();
      assert.ok(registered >= 2 && registered <= 3, m.log.lines.join("\n"));
      // The new registration says so itself, once.
      assert.deepEqual(m.log.find("info", /is registered again/), []);
      assert.ok(
        m.log.find("warn", /has expired|was deleted|lost its data/).length > 0,
        m.log.lines.join("\n"),
      );
    }
  });

  it("does not take a read older than its own put for a lost registration", async () => {
    // The first read of the prefix runs in etcd before the node's put, and
    // its answer is held until the put has answered.
    let putAnswered: () => void;
    const put = new Promise<void>((resolve) => putAnswered = resolve);
    let reads = 0;
    const { nodes } = join(1, {
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (input.endsWith("/v3/kv/put")) putAnswered();
        if (!input.endsWith("/v3/kv/range") || reads++ > 0) return res;
        const body = await res.text();
        await put;
        await new Promise((resolve) => setTimeout(resolve, 50)); // the put is logged
        return new Response(body, { status: res.status });
      },
    });
    await converged(nodes, [nodes[0].url]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(reads >= 1);
    await logged(nodes[0], "info", /registered http/, 1);
    assert.deepEqual(nodes[0].log.find("warn", /./), []);
  });

  it("ignores what is not a peer URL under the prefix, once", async () => {
    const { prefix, nodes } = join(2);
    await converged(nodes, nodes.map((m) => m.url));
    await fetch(`${etcd.endpoint}/v3/kv/put`, {
      method: "POST",
      body: JSON.stringify({
        key: btoa(prefix + "junk"),
        value: btoa("not a url"),
      }),
    });
    await waitFor(
      "a warning",
      () => nodes.every((m) => m.log.find("warn", /ignored/).length === 1),
    );
    assert.deepEqual(nodes[0].pool.peers, [nodes[0].url, nodes[1].url]);
  });
});

describe("etcdPeers against an etcd that stops answering", () => {
  it("gives up on a request after a third of the TTL by default, so the lease is not lost waiting", async () => {
    let keepalives = 0;
    const hang = (signal: AbortSignal) =>
      new Promise<Response>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      );
    const answer = (value: object) =>
      Promise.resolve(new Response(JSON.stringify(value)));
    const log = recordingLogger();
    const pool = new HttpPool("http://10.0.0.1:8000", {
      registry: new Registry(),
    });
    const discovery = etcdPeers(pool, {
      endpoint: "http://etcd.test:2379",
      ttlSeconds: 3,
      logger: log.logger,
      fetch: (input, init) => {
        const path = new URL(input).pathname;
        if (path === "/v3/lease/grant") return answer({ ID: "7", TTL: "3" });
        if (path === "/v3/kv/put") return answer({ header: { revision: "2" } });
        if (path === "/v3/kv/range") {
          return answer({ header: { revision: "2" }, kvs: [] });
        }
        if (path === "/v3/lease/keepalive") keepalives++;
        return hang(init.signal!); // the watch, and every keepalive
      },
    });
    try {
      await waitFor(
        "a warning",
        () => log.find("warn", /cannot keep/).length > 0,
        5_000,
      );
      assert.equal(keepalives, 1);
      assert.match(
        log.find("warn", /cannot keep/)[0],
        /no answer within 1000 ms/,
      );
    } finally {
      await discovery.close();
    }
  });
});

describe("etcdPeers options", () => {
  const pool = new HttpPool("http://10.0.0.1:8000", {
    registry: new Registry(),
  });
  const bad: [string, object][] = [
    ["no endpoint", {}],
    ["an endpoint without a scheme", { endpoint: "127.0.0.1:2379" }],
    ["a TTL below etcd's 2 s", { endpoint: "http://e:1", ttlSeconds: 1 }],
    ["a fractional TTL", { endpoint: "http://e:1", ttlSeconds: 2.5 }],
    ["an empty prefix", { endpoint: "http://e:1", prefix: "" }],
    ["a zero request timeout", { endpoint: "http://e:1", requestTimeoutMs: 0 }],
    ["a bad logger", { endpoint: "http://e:1", logger: console.log }],
  ];
  for (const [name, options] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => etcdPeers(pool, options as EtcdPeersOptions),
        ConfigError,
      );
    });
  }
});

describe("rangeEnd", () => {
  const cases: [string, number[]][] = [
    ["/gc/", [0x2f, 0x67, 0x63, 0x30]],
    ["a", [0x62]],
    ["a\u00ff", [0x61, 0xc3, 0xc0]], // UTF-8 c3 bf: the last byte goes up
    ["\u{10ffff}", [0xf4, 0x8f, 0xbf, 0xc0]],
  ];
  for (const [prefix, bytes] of cases) {
    it(`ends the keys under ${JSON.stringify(prefix)} at ${bytes.map((b) => b.toString(16)).join(" ")}`, () => {
      assert.equal(rangeEnd(prefix), btoa(String.fromCharCode(...bytes)));
    });
  }
});
