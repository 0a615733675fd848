// Interop with real Go groupcache nodes (Debian's package, built at test
// time): a mixed cluster of Go nodes and TypeScript nodes, for every way a
// TS node serves and asks. tests/interop_test.ts runs it with this runtime's
// own server and fetch, tests/node_native_test.ts with @x/groupcache/node.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Group,
  HttpPool,
  type HttpPoolOptions,
  PeerError,
  Registry,
} from "../../mod.ts";
import { buildGo, skipWithoutGo } from "./go.ts";
import { type GoNode, goValue, startGoNode } from "./go_node.ts";
import { freePort } from "./ports.ts";

interface TsNode {
  url: string;
  served: FlavorServer;
  pool: HttpPool;
  group: Group;
  loads: Map<string, number>;
  peerErrors: unknown[];
}

/** A server a TS node is served by, listening before its pool exists. */
export interface FlavorServer {
  url: string;
  /** Starts answering with `pool`. */
  attach(pool: HttpPool): void;
  close(): Promise<void>;
}

/** How TS nodes serve and ask in one run of the interop tests. */
export interface Flavor {
  label: string;
  serve(): Promise<FlavorServer>;
  /** Options every pool gets (e.g. a transport). */
  pool(): HttpPoolOptions;
  /** Whether the server resolves "/g/.." before the handler sees it (Bun.serve). */
  resolvesDots: boolean;
  /** Runs after the last test. */
  done?(): void;
}

const skip = skipWithoutGo();
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** The interop tests, with TS nodes served and asking as `flavor` says. */
export function describeInterop(flavor: Flavor): void {
  describe(
    `interop with real Go groupcache nodes (${flavor.label})`,
    { skip },
    () => {
      const go: GoNode[] = [];
      const ts: TsNode[] = [];
      let urls: string[] = [];

      before(async () => {
        const binary = buildGo("tests/go/node", "gonode");
        const served = await Promise.all([0, 1].map(() => flavor.serve()));
        const goPorts = [await freePort(), await freePort()];
        const goUrls = goPorts.map((p) => `http://127.0.0.1:${p}`);
        // Interleaved, the same list on every node.
        urls = [goUrls[0], served[0].url, goUrls[1], served[1].url];
        for (const s of served) {
          const pool = new HttpPool(s.url, {
            registry: new Registry(),
            ...flavor.pool(),
          });
          pool.set(...urls);
          const loads = new Map<string, number>();
          const peerErrors: unknown[] = [];
          const group = new Group("test", 64 << 20, (key, dest) => {
            loads.set(key, (loads.get(key) ?? 0) + 1);
            const value = goValue(key);
            // Go's getter fails on "err:" keys; ours answers, to show the fallback.
            if (value instanceof Error) dest.setString(`ts-fallback:${key}`);
            else dest.setBytes(value);
          }, { peers: pool, onPeerError: (e) => peerErrors.push(e) });
          s.attach(pool);
          ts.push({ url: s.url, served: s, pool, group, loads, peerErrors });
        }
        for (const port of goPorts) {
          go.push(await startGoNode({ binary, port, peers: urls }));
        }
      });

      after(async () => {
        await Promise.allSettled([
          ...go.map((g) => g.kill()),
          ...ts.map((t) => t.served.close()),
        ]);
        flavor.done?.();
      });

      async function totalLoads(key: string): Promise<number> {
        let n = ts.reduce((s, t) => s + (t.loads.get(key) ?? 0), 0);
        for (const g of go) n += (await g.loads())[key] ?? 0;
        return n;
      }
      const isGo = (url: string | undefined) => go.some((g) => g.url === url);
      const owner = (key: string) => ts[0].pool.owner(key)!;

      async function viaGo(node: GoNode, key: string): Promise<Uint8Array> {
        const res = await node.get(key);
        assert.equal(
          res.status,
          200,
          `Go node ${node.url} get ${JSON.stringify(key)}: ${decode(res.body)}`,
        );
        return res.body;
      }

      const plain = [
        "plain",
        "a+b",
        "a/b/c",
        "100%",
        "%41",
        "ü日本🙂",
        "a/../b",
        "./x",
        "?q=1&r#frag",
        "size:300:binary",
        "size:1048576:one-mib",
        "empty:nothing",
        ...Array.from({ length: 40 }, (_, i) => `k${i}`),
      ];

      it("loads every key exactly once cluster-wide, byte-exact, asked through every node", async () => {
        for (const key of plain) {
          const want = goValue(key) as Uint8Array;
          for (const t of ts) {
            assert.ok(
              (await t.group.get(key)).equals(want),
              `ts ${key}`,
            );
          }
          for (const g of go) {
            assert.deepEqual(
              await viaGo(g, key),
              want,
              `go ${key}`,
            );
          }
          assert.equal(
            await totalLoads(key),
            1,
            `loads of ${JSON.stringify(key)} (owner ${owner(key)})`,
          );
        }
      });

      it("fetched in both directions: Go→TS and TS→Go", async () => {
        const tsServed = ts.reduce(
          (s, t) => s + t.group.stats.serverRequests,
          0,
        );
        let goServed = 0;
        for (const g of go) goServed += (await g.stats()).ServerRequests;
        assert.ok(tsServed > 0, "no Go→TS fetch happened");
        assert.ok(goServed > 0, "no TS→Go fetch happened");
        const owners = new Set(plain.map(owner));
        assert.equal(owners.size, 4, "every node owns some of the keys");
      });

      it("getMany through every TS node: the right bytes, and the Go nodes get only per-key GETs", async () => {
        const goBefore = await Promise.all(go.map((g) => g.stats()));
        const keys = Array.from({ length: 60 }, (_, i) => `many:${i}`);
        for (const [i, t] of ts.entries()) {
          const asked = keys.filter((_, j) => j % ts.length === i);
          const { values, errors } = await t.group.getMany(asked);
          assert.deepEqual([...errors.keys()], []);
          for (const key of asked) {
            assert.ok(values.get(key)!.equals(goValue(key) as Uint8Array), key);
          }
        }
        const goOwned = keys.filter((key) => isGo(owner(key)));
        assert.ok(goOwned.length > 0, "the Go nodes own some of the keys");
        let goServed = 0;
        for (const [i, g] of go.entries()) {
          goServed += (await g.stats()).ServerRequests -
            goBefore[i].ServerRequests;
          // A POST {basePath}{group}/ would have loaded the empty key.
          assert.equal((await g.loads())[""], undefined);
        }
        assert.equal(goServed, goOwned.length, "one GET per Go-owned key");
      });

      it("carries keys with spaces correctly both ways (Go→Go mangles them; not asked here)", async () => {
        for (let i = 0; i < 12; i++) {
          const key = `with space ${i} + plus`;
          const want = goValue(key) as Uint8Array;
          for (const t of ts) {
            assert.ok(
              (await t.group.get(key)).equals(want),
              key,
            );
          }
          if (!isGo(owner(key))) {
            // Go sends "with+space…", which our server reads back as spaces.
            for (const g of go) {
              assert.deepEqual(await viaGo(g, key), want, key);
            }
          }
          assert.equal(await totalLoads(key), 1, key);
        }
      });

      it("reports a Go getter error to the TS caller as a peer error, then loads locally", async () => {
        let key = "";
        for (let i = 0; key === ""; i++) {
          if (owner(`err:${i}`) === go[0].url) {
            key = `err:${i}`;
          }
        }
        const asker = ts[0];
        const before = { ...asker.group.stats };
        assert.equal(
          (await asker.group.get(key)).toString(),
          `ts-fallback:${key}`,
        );
        assert.equal(asker.group.stats.peerErrors, before.peerErrors + 1);
        assert.equal(asker.group.stats.localLoads, before.localLoads + 1);
        const err = asker.peerErrors.at(-1) as PeerError;
        assert.ok(err instanceof PeerError);
        assert.equal(err.status, 500);
        assert.match(err.body ?? "", /go getter failed for "err:\d+"/);
      });

      it('handles the key ".." as documented: the owner serves it, our client refuses to send it', async () => {
        const key = "..";
        const o = owner(key);
        const tsOwner = ts.find((t) => t.url === o);
        for (const t of ts) {
          if (t === tsOwner) {
            assert.equal(
              (await t.group.get(key)).toString(),
              "go:..",
            );
          } else {await assert.rejects(t.group.get(key), {
              name: "InvalidKeyError",
            });}
        }
        if (isGo(o)) {
          // Go's client sends ".." raw; a Go owner behind a non-cleaning handler serves it.
          for (const g of go) {
            assert.equal(decode(await viaGo(g, key)), "go:..");
          }
          assert.equal(await totalLoads(key), 1);
        } else if (flavor.resolvesDots) {
          // Bun resolves "/test/.." before our handler sees it: we answer 400 and
          // the Go node falls back to its own getter (loud on our side, counted on Go's).
          const g = go[0];
          const errors = (await g.stats()).PeerErrors;
          assert.equal(decode(await viaGo(g, key)), "go:..");
          assert.equal((await g.stats()).PeerErrors, errors + 1);
        } else {
          for (const g of go) {
            assert.equal(decode(await viaGo(g, key)), "go:..");
          }
          assert.equal(await totalLoads(key), 1);
        }
      });

      it("marks a stopped Go peer down, then re-admits it when it answers a probe (Go's 400 to GET /_groupcache/)", async () => {
        const g = go[0];
        const self = "http://127.0.0.1:9"; // only asks
        const pool = new HttpPool(self, {
          registry: new Registry(),
          ...flavor.pool(),
          timeoutMs: 300,
          probeDelayMs: 20,
          maxProbeDelayMs: 100,
        });
        pool.set(self, g.url);
        const group = new Group("test", 1 << 20, (key) => `local:${key}`, {
          peers: pool,
        });
        const keyOf = (prefix: string) => {
          for (let i = 0;; i++) {
            if (pool.owner(`${prefix}${i}`) === g.url) return `${prefix}${i}`;
          }
        };
        const stopped = keyOf("stopped-");
        g.pause();
        try {
          assert.equal(
            (await group.get(stopped)).toString(),
            `local:${stopped}`,
          );
          assert.equal(pool.peerHealth()[0].state, "down");
          assert.equal(pool.pickPeer(keyOf("meanwhile-")), undefined);
        } finally {
          g.resume();
        }
        const back = keyOf("back-");
        const t0 = performance.now();
        while (pool.pickPeer(back) === undefined) {
          assert.ok(performance.now() - t0 < 5_000, "not re-admitted in 5 s");
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok((await group.get(back)).equals(goValue(back) as Uint8Array));
        assert.equal(pool.peerHealth()[0].state, "up");
      });

      it("survives a killed Go peer with local loads", async () => {
        const victim = go[1];
        let key = "";
        for (let i = 0; key === ""; i++) {
          if (owner(`dead-${i}`) === victim.url) {
            key = `dead-${i}`;
          }
        }
        await victim.kill();
        const asker = ts[0];
        const before = asker.group.stats.peerErrors;
        assert.ok(
          (await asker.group.get(key)).equals(goValue(key) as Uint8Array),
        );
        assert.equal(asker.group.stats.peerErrors, before + 1);
        assert.equal(asker.loads.get(key), 1);
      });
    },
  );
}
