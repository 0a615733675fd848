// dnsPeers (dns.ts) against a real dnsmasq on a free loopback port: A, AAAA
// and SRV records, changes within one interval, failures that keep the last
// list, one bounded query at a time. Runs under Deno, Bun and Node.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { dnsPeers, type DnsPeersOptions } from "../dns.ts";
import { ConfigError, type PeerListTarget } from "../mod.ts";
import { recordingLogger } from "./_dev/logs.ts";
import {
  type Dnsmasq,
  skipWithout,
  startDnsmasq,
  waitFor,
} from "./_dev/services.ts";

const INTERVAL_MS = 200;

/** A pool stand-in that records every set. */
function target(self: string): PeerListTarget & { sets: string[][] } {
  let current: readonly string[] = [];
  const sets: string[][] = [];
  return {
    self,
    sets,
    get peers() {
      return current;
    },
    set(...peers: string[]) {
      sets.push(peers);
      current = peers;
    },
  };
}

const HOSTS = [
  "127.0.0.13 peers.test",
  "127.0.0.11 peers.test",
  "127.0.0.12 peers.test",
  "fd00::2 peers.test",
  "fd00::1 peers.test",
  "127.0.0.21 n1.peers.test",
].join("\n") + "\n";

const url = (last: number) => `http://127.0.0.${last}:8000`;

describe("dnsPeers against dnsmasq", { skip: skipWithout("dnsmasq") }, () => {
  let dns: Dnsmasq;

  before(async () => {
    dns = await startDnsmasq({
      hosts: HOSTS,
      srv: [
        "_gc._tcp.peers.test,n2.peers.test,8002,0,10",
        "_gc._tcp.peers.test,n1.peers.test,8001,0,10",
        // What a poisoned zone may answer: port 0, a target a URL parser
        // reads as another host (userinfo, a space).
        "_bad._tcp.peers.test,n1.peers.test,8001,0,10",
        "_bad._tcp.peers.test,zero.peers.test,0,0,10",
        "_bad._tcp.peers.test,x@evil.test,8004,0,10",
        "_bad._tcp.peers.test,evil host.peers.test,8003,0,10",
      ],
    });
  }, { timeout: 20_000 });

  after(async () => {
    await dns?.close();
  });

  /** dnsPeers on `pool`, asking dnsmasq for peers.test, logging to a recorder. */
  function start(pool: PeerListTarget, options: Partial<DnsPeersOptions>) {
    const log = recordingLogger();
    const discovery = dnsPeers(pool, {
      name: "peers.test",
      port: 8000,
      nameServer: dns.nameServer,
      intervalMs: INTERVAL_MS,
      logger: log.logger,
      ...options,
    });
    return { discovery, log };
  }

  /** Runs dnsPeers on `pool` until `test()` holds, then closes it. */
  async function discover(
    pool: PeerListTarget,
    options: Partial<DnsPeersOptions>,
    test: () => boolean,
  ) {
    const { discovery, log } = start(pool, options);
    try {
      await waitFor(`peers of ${JSON.stringify(options)}`, test, 5_000);
    } finally {
      await discovery.close();
    }
    return { discovery, log };
  }

  const records: [
    string,
    Partial<DnsPeersOptions>,
    string,
    string[],
  ][] = [
    ["A records become http://address:port, sorted", {}, url(12), [
      url(11),
      url(12),
      url(13),
    ]],
    [
      "AAAA records become http://[address]:port",
      { type: "AAAA", scheme: "https" },
      "https://[fd00::1]:8000",
      ["https://[fd00::1]:8000", "https://[fd00::2]:8000"],
    ],
    [
      "SRV records give each peer's host and port",
      { type: "SRV", name: "_gc._tcp.peers.test" },
      "http://n1.peers.test:8001",
      ["http://n1.peers.test:8001", "http://n2.peers.test:8002"],
    ],
  ];
  for (const [name, options, self, want] of records) {
    it(name, async () => {
      const pool = target(self);
      const { discovery } = await discover(
        pool,
        options,
        () => pool.sets.length > 0,
      );
      assert.deepEqual(pool.peers, want);
      assert.deepEqual(discovery.peers, want);
    });
  }

  it("keeps SRV records with a bad target or port out of the ring, logged once each", async () => {
    const pool = target("http://n1.peers.test:8001");
    const { discovery, log } = start(pool, {
      type: "SRV",
      name: "_bad._tcp.peers.test",
    });
    try {
      await waitFor("a set", () => pool.sets.length > 0, 5_000);
      // Polled again: still refused, not logged again.
      await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
    } finally {
      await discovery.close();
    }
    assert.deepEqual(pool.peers, ["http://n1.peers.test:8001"]);
    const ignored = log.find("warn", /ignored/);
    assert.equal(ignored.length, 3, ignored.join("\n"));
    assert.ok(ignored.some((l) => /port 0/.test(l)), ignored.join("\n"));
  });

  it("keeps this node in its list when the records leave it out, and says so", async () => {
    const pool = target(url(99));
    const { log } = await discover(pool, {}, () => pool.sets.length > 0);
    assert.deepEqual(pool.peers, [url(11), url(12), url(13), url(99)]);
    assert.equal(
      log.find(
        "info",
        /this node \(http:\/\/127\.0\.0\.99:8000\) is not among the records/,
      )
        .length,
      1,
    );
  });

  it("sets the pool once while the records stay the same", async () => {
    const pool = target(url(11));
    const { discovery, log } = start(pool, { intervalMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await discovery.close();
    assert.equal(pool.sets.length, 1, JSON.stringify(pool.sets));
    assert.deepEqual(log.lines.filter(([level]) => level !== "info"), []);
  });

  it("follows changed records within one interval, then keeps the last good list while DNS fails", async () => {
    const pool = target(url(11));
    const { discovery, log } = start(pool, { timeoutMs: 150 });
    try {
      await waitFor("first list", () => pool.sets.length === 1, 5_000);
      // n13 leaves, n14 joins.
      await dns.setHosts(
        HOSTS.replace("127.0.0.13 peers.test", "127.0.0.14 peers.test"),
      );
      const took = await waitFor(
        "the changed records",
        () => pool.peers.includes(url(14)),
        5_000,
        5,
      );
      console.log(
        `dns: records changed → pool.set after ${
          Math.round(took)
        } ms (interval ${INTERVAL_MS} ms)`,
      );
      assert.ok(took <= INTERVAL_MS + 150, `${took} ms`); // + the lookup and this polling
      assert.deepEqual(pool.peers, [url(11), url(12), url(14)]);

      // DNS goes away: the list stays, one warning.
      await dns.stop();
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 4));
      assert.deepEqual(pool.peers, [url(11), url(12), url(14)]);
      assert.equal(pool.sets.length, 2);
      const warned = log.find("warn", /lookup of peers\.test failed/);
      assert.equal(warned.length, 1, log.lines.join("\n"));
      assert.match(warned[0], /keeping the last list of 3 peers/);
      assert.match(warned[0], /retrying every 200 ms/);

      // Back, with the old records: it says so, and follows.
      await dns.start();
      await dns.setHosts(HOSTS);
      await waitFor("the records again", () => pool.peers.includes(url(13)));
      assert.deepEqual(pool.peers, [url(11), url(12), url(13)]);
      assert.equal(log.find("info", /resolves again \(3 records\)/).length, 1);
    } finally {
      await discovery.close();
    }
  });

  it("treats a name without records as a failure, not as an empty cluster", async () => {
    const pool = target(url(11));
    pool.set(url(11), url(12));
    const { discovery, log } = start(pool, {
      name: "gone.peers.test",
      intervalMs: 50,
    });
    try {
      await waitFor(
        "a warning",
        () => log.find("warn", /gone\.peers\.test failed/).length > 0,
      );
    } finally {
      await discovery.close();
    }
    assert.deepEqual(pool.peers, [url(11), url(12)]);
    assert.equal(pool.sets.length, 1);
  });
});

describe("dnsPeers against a server that never answers", () => {
  let socket: Socket;
  let queries = 0;

  before(async () => {
    socket = createSocket("udp4");
    socket.on("message", () => queries++);
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  });

  after(() => {
    socket.close();
  });

  it("has one query in flight at a time, each cancelled after timeoutMs, none after close", async () => {
    const pool = target(url(11));
    const log = recordingLogger();
    const timeoutMs = 200;
    const start = performance.now();
    const discovery = dnsPeers(pool, {
      name: "peers.test",
      port: 8000,
      nameServer: `127.0.0.1:${socket.address().port}`,
      intervalMs: 10, // far below the timeout: stacking would show at once
      timeoutMs,
      logger: log.logger,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await discovery.close();
    const elapsed = performance.now() - start;
    const asked = queries;
    // Each lookup waits out its bound before the next is sent.
    assert.ok(asked >= 1, `${asked} queries`);
    assert.ok(
      asked <= Math.ceil(elapsed / timeoutMs) + 1,
      `${asked} queries in ${Math.round(elapsed)} ms`,
    );
    const warned = log.find("warn", /failed/);
    assert.equal(warned.length, 1, warned.join("\n"));
    assert.match(warned[0], /no answer within 200 ms/);
    assert.match(warned[0], /no peers known yet/);
    assert.deepEqual(pool.sets, []);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(queries, asked, "no query after close()");
  });
});

describe("dnsPeers options", () => {
  const pool = target(url(11));
  const bad: [string, object][] = [
    ["no name", { port: 8000 }],
    ["A records without a port", { name: "peers.test" }],
    ["an unknown record type", { name: "x", type: "MX", port: 1 }],
    ["a port out of range", { name: "x", port: 70_000 }],
    ["ftp", { name: "x", port: 1, scheme: "ftp" }],
    ["a zero interval", { name: "x", port: 1, intervalMs: 0 }],
    ["a bad logger", { name: "x", port: 1, logger: {} }],
    ["a nameServer that is not a string", {
      name: "x",
      port: 1,
      nameServer: 53,
    }],
  ];
  for (const [name, options] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => dnsPeers(pool, options as DnsPeersOptions),
        ConfigError,
      );
    });
  }
});
