// The cluster inspector (cli.ts) against real node processes: rings that
// agree, a planted disagreement (two nodes with different peer lists) named
// peer by peer, who owns a key under each node's ring, each node's view of
// the others' health; run by this runtime and by Node 22.18.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HashRing } from "../mod.ts";
import { join, root } from "./_dev/paths.ts";
import { freePorts } from "./_dev/ports.ts";
import { runToExit } from "./_dev/proc.ts";
import { runtimeCommand } from "./_dev/runtimes.ts";
import { type PeerNode, startPeerNode } from "./_dev/peer_node.ts";

const CLI = join(root, "cli.ts");

function inspector(args: string[]) {
  const [cmd, cmdArgs] = runtimeCommand(CLI, args);
  return runToExit(cmd, cmdArgs, { cwd: root, timeoutMs: 60_000 });
}

/** A key that `owner` owns on a ring of `peers`. */
function keyOwnedBy(peers: string[], owner: string): string {
  const ring = new HashRing(50);
  ring.add(...peers);
  for (let i = 0;; i++) if (ring.get(`user:${i}`) === owner) return `user:${i}`;
}

describe("the cluster inspector (cli.ts), against node processes", () => {
  let a: PeerNode, b: PeerNode, c: PeerNode;
  let urls: string[];

  before(async () => {
    const ports = await freePorts(3);
    urls = ports.map((p) => `http://127.0.0.1:${p}`);
    // c was given a list without b: the planted disagreement.
    const node = (i: number, peers: string[]) =>
      startPeerNode({
        port: ports[i],
        peers,
        group: "users",
        label: `node${i}`,
        timeoutMs: 1_000,
        status: true,
      });
    [a, b, c] = await Promise.all([
      node(0, urls),
      node(1, urls),
      node(2, [urls[0], urls[2]]),
    ]);
  });

  after(async () => {
    await Promise.all([a, b, c].map((n) => n?.stop()));
  });

  it("says that rings agree, and who owns a key, when they do (exit 0)", async () => {
    const key = keyOwnedBy(urls, urls[1]);
    const out = await inspector([a.statusUrl, b.statusUrl, "--key", key]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(
      out.stdout,
      /^rings: all 2 nodes agree \([0-9a-f]{8}\/3, golang, 50 replicas\)$/m,
    );
    assert.ok(
      out.stdout.includes(`key "${key}": owned by ${urls[1]} on every ring`),
      out.stdout,
    );
    assert.ok(
      out.stdout.includes(`${urls[0]} sees: ${urls[1]} up, ${urls[2]} up`),
      out.stdout,
    );
  });

  it("finds the planted disagreement, names the differing peer, and shows where owners differ (exit 1)", async () => {
    const key = keyOwnedBy(urls, urls[1]);
    const out = await inspector([
      a.statusUrl,
      b.statusUrl,
      c.statusUrl,
      "--key",
      key,
    ]);
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(out.stdout, /^rings: DISAGREE: 2 different rings$/m);
    assert.ok(
      out.stdout.includes(
        `peer ${urls[1]}: on 2 rings (${urls[0]}, ${urls[1]}), missing from ${
          urls[2]
        }`,
      ),
      out.stdout,
    );
    assert.ok(out.stdout.includes(`key "${key}": owners DIFFER`), out.stdout);
    assert.ok(
      out.stdout.includes(`under ${urls[0]}'s ring: ${urls[1]}`),
      out.stdout,
    );
    assert.match(
      out.stdout,
      new RegExp(
        `under ${urls[2]}'s ring: http://127\\.0\\.0\\.1:(?!${
          urls[1].split(":")[2]
        }\\b)\\d+`,
      ),
    );
  });

  it("gives the report as JSON with --json", async () => {
    const out = await inspector(["--json", a.statusUrl, c.statusUrl]);
    assert.equal(out.code, 1, out.stderr);
    const report = JSON.parse(out.stdout);
    assert.equal(report.ringsAgree, false);
    assert.deepEqual(report.differingPeers, [
      { peer: urls[1], on: [urls[0]], missingFrom: [urls[2]] },
    ]);
  });

  it("shows each node's view of the others: a stopped node is down on the node that asked it", async () => {
    const key = keyOwnedBy(urls, urls[1]);
    b.pause();
    try {
      // a asks b for the key: no answer within 1 s, b is marked down.
      const res = await fetch(`${a.url}/get/users/${encodeURIComponent(key)}`);
      assert.equal(await res.text(), `node0:${key}`); // loaded on a
      const out = await inspector([
        a.statusUrl,
        c.statusUrl,
        b.statusUrl,
        "--timeout-ms",
        "1000",
      ]);
      assert.equal(out.code, 1);
      assert.match(
        out.stdout,
        new RegExp(`^unreachable: ${b.statusUrl} \\(`, "m"),
      );
      assert.match(
        out.stdout,
        new RegExp(
          `^  ${urls[0]} sees: ${urls[1]} down \\(1 failure, timeout\\), ${
            urls[2]
          } up$`,
          "m",
        ),
      );
      assert.match(
        out.stdout,
        new RegExp(`^  ${urls[2]} sees: ${urls[0]} up$`, "m"),
      );
    } finally {
      b.resume();
    }
  });

  it("runs on Node 22.18 as it is (erasable TypeScript)", async () => {
    const out = await runToExit(
      "npx",
      ["-y", "node@22.18.0", "cli.ts", a.statusUrl, c.statusUrl],
      { cwd: root, timeoutMs: 180_000, group: true },
    );
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stdout, /^rings: DISAGREE/m);
    assert.ok(
      out.stdout.includes(
        `peer ${urls[1]}: on 1 ring (${urls[0]}), missing from ${urls[2]}`,
      ),
      out.stdout,
    );
  });

  it("refuses a call without status URLs (exit 2)", async () => {
    const out = await inspector(["--key", "k"]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^usage: cli\.ts/m);
  });
});
