// The status page in a real headless Chromium (Debian's chromium, driven by
// playwright-core) against a real 3-node cluster of processes: it loads with
// no console error, shows three peers up, shows a SIGSTOPped node down
// within 5 s of the pool marking it down and up again within 5 s of the pool
// re-admitting it after SIGCONT, and its hit-ratio chart moves under load.
// It saves the screenshots docs/operating.md shows (1280×800 and 390×844).
// Runs in Deno's pass only: it takes about 20 s, and one set of screenshots
// is enough. Under CI=true a missing chromium fails it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import type { PoolStatus } from "../mod.ts";
import { join, root } from "./_dev/paths.ts";
import { freePorts } from "./_dev/ports.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import { skipWithout, waitFor } from "./_dev/services.ts";
import { type PeerNode, startPeerNode } from "./_dev/peer_node.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function statusOf(node: PeerNode): Promise<PoolStatus> {
  const res = await fetch(`${node.statusUrl}?format=json`);
  return await res.json();
}

/** Gets on `node` until `stop.done`: `keys` distinct keys of each group, round and round. */
async function load(node: PeerNode, keys: number, stop: { done: boolean }) {
  for (let i = 0; !stop.done; i++) {
    const group = ["users", "thumbnails", "sessions"][i % 3];
    const res = await fetch(`${node.url}/get/${group}/item-${(i * 7) % keys}`);
    await res.body?.cancel();
    if (i % 20 === 0) await sleep(5);
  }
}

describe("the status page in Chromium", {
  skip: runtimeName() !== "deno"
    ? "runs in Deno's pass only"
    : skipWithout("chromium"),
}, () => {
  it("shows the cluster live: three peers up, a stopped node down and back, the hit ratio moving", async () => {
    const ports = await freePorts(3);
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const nodes = await Promise.all(
      ports.map((port, i) =>
        startPeerNode({
          port,
          peers: urls,
          group: "users,thumbnails,sessions",
          label: `node${i}`,
          timeoutMs: 1_000, // a stopped node is marked down within 1 s
          status: true,
        })
      ),
    );
    const [a, , c] = nodes;
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      // As root (containers, CI) Chromium refuses to start sandboxed.
      args: ["--no-sandbox"],
    });
    const stop = { done: false };
    const loading: Promise<void>[] = [];
    try {
      const page = await browser.newPage({
        viewport: { width: 1280, height: 800 },
      });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      await page.goto(a.statusUrl);

      const stateOf = (url: string) =>
        page.getAttribute(`.peer[data-peer="${url}"]`, "data-state", {
          timeout: 10_000,
        });
      await page.waitForSelector(".peer", { timeout: 10_000 });
      assert.equal(await page.locator(".peer").count(), 3);
      for (const url of urls) assert.equal(await stateOf(url), "up", url);
      assert.equal(
        await page.locator('.peer[data-state="up"] .pill.up').count(),
        3,
      );

      // The chart of "users": misses first (40 new keys), then the same keys
      // again and again: its hit ratio climbs.
      const hitLine = '.group[data-group="users"] .hit-line';
      const ratios = async () => {
        const points = await page.getAttribute(hitLine, "points") ?? "";
        // y = 4 + (1 - ratio) * 62 in the chart's 300×80 box.
        return points.split(" ").filter(Boolean).map((p) =>
          1 - (Number(p.split(",")[1]) - 4) / 62
        );
      };
      for (let i = 0; i < 40; i++) {
        await (await fetch(`${a.url}/get/users/item-${i}`)).body?.cancel();
      }
      await sleep(2_500); // a refresh sees the misses
      loading.push(load(a, 40, stop), load(a, 40, stop));
      await waitFor(
        "the hit-ratio chart climbs",
        async () => {
          const r = await ratios();
          return r.length >= 2 && Math.max(...r) - Math.min(...r) > 0.3;
        },
        20_000,
        250,
      );

      // SIGSTOP c: a's next fetch from c (keys not cached yet) times out
      // (1 s), and the pool marks it down; the page follows within 5 s.
      c.pause();
      const fresh = Array.from(
        { length: 30 },
        (_, i) =>
          fetch(`${a.url}/get/sessions/fresh-${i}`).then((r) =>
            r.body?.cancel()
          ),
      );
      // How long after the pool marks c `state` the page shows it so.
      const followed = async (state: "up" | "down", poke: () => unknown) => {
        await waitFor(
          `the pool marks the node ${state}`,
          async () => {
            await poke();
            const seen = (await statusOf(a)).peers.find((p) =>
              p.peer === c.url
            );
            return seen?.state === state;
          },
          20_000,
          100,
        );
        return await waitFor(
          `the page shows it ${state}`,
          async () => await stateOf(c.url) === state,
          5_000,
          50,
        );
      };
      const shownDown = await followed("down", () => {});
      await Promise.all(fresh);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(root, "docs/status-page.png") });

      // SIGCONT: a probe, started when a get wants one of c's keys, finds
      // it answering (probes wait 0.5 s, doubling, up to 5 s).
      c.resume();
      let n = 0;
      const shownUp = await followed("up", async () => {
        await (await fetch(`${a.url}/get/sessions/back-${n++}`)).body?.cancel();
      });

      const phone = await browser.newPage({
        viewport: { width: 390, height: 844 },
      });
      phone.on("console", (m) => {
        if (m.type() === "error") problems.push(`phone console: ${m.text()}`);
      });
      phone.on("pageerror", (e) => problems.push(`phone error: ${e.message}`));
      await phone.goto(a.statusUrl);
      await phone.waitForSelector('.peer[data-state="up"]', {
        timeout: 10_000,
      });
      await phone.waitForTimeout(2_500); // a second sample for the charts
      await phone.screenshot({
        path: join(root, "docs/status-page-phone.png"),
      });
      assert.deepEqual(problems, []);
      console.log(
        `status page: down shown ${Math.round(shownDown)} ms after the pool ` +
          `marked it, up ${Math.round(shownUp)} ms after`,
      );
    } finally {
      stop.done = true;
      c.resume();
      await Promise.allSettled(loading);
      await browser.close();
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});
