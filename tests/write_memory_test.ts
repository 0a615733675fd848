// Write bodies cannot grow a node's memory without bound: eight concurrent
// 60 MiB PUTs to a node process (writes open, maxWriteBytes at its default
// 2 × 64 MiB) raise its peak RSS by at most about the cap. Issue 20
// measured 804 MiB (Deno.serve) to 1,377 MiB (nodeListener on Bun) before
// the cap. Linux (/proc), under Deno and Bun (the node process is started
// with the runtime running the tests).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { type PeerNode, startPeerNode } from "./_dev/peer_node.ts";
import { freePort } from "./_dev/ports.ts";
import { runtimeName } from "./_dev/runtimes.ts";

const MIB = 1 << 20;

/** A line of /proc/PID/status (VmRSS, VmHWM) in MiB. */
function status(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)!;
  return Number(m[1]) / 1024;
}

/** A PUT of `bytes` zeros in 1 MiB chunks; resolves with its status (0: cut). */
function bigPut(url: string, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    const chunk = new Uint8Array(MIB);
    const req = request(`${url}/_groupcache/g/k`, {
      method: "PUT",
      headers: { "content-length": String(bytes) },
    }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(res.statusCode ?? 0));
      req.destroy();
    });
    req.on("error", () => resolve(0));
    let sent = 0;
    const pump = () => {
      while (sent < bytes && !req.destroyed) {
        sent += MIB;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

const servers = runtimeName() === "node"
  ? []
  : [["the runtime's server", false], ["nodeListener", true]] as const;
for (const [server, nodeListener] of servers) {
  describe(`write bodies in flight (${server}, ${runtimeName()})`, () => {
    let node: PeerNode | undefined;
    after(() => node?.stop());

    it("8 concurrent 60 MiB PUTs: peak RSS grows by about maxWriteBytes at most", async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      node = await startPeerNode({
        port,
        peers: [url],
        group: "g",
        label: "w",
        openWrites: true,
        nodeListener,
      });
      // Warm: one small PUT, so the server's own buffers exist.
      await bigPut(url, MIB);
      const before = status(node.pid, "VmRSS");
      const statuses = await Promise.all(
        Array.from({ length: 8 }, () => bigPut(url, 60 * MIB)),
      );
      const growth = status(node.pid, "VmHWM") - before;
      // Past the cap (128 MiB): 503 at once, or the connection cut.
      assert.ok(
        statuses.filter((s) => s === 503 || s === 0).length >= 4,
        String(statuses),
      );
      // The target is cap + 64 MiB (192 MiB; 165-180 MiB measured); a
      // loaded machine gets room.
      assert.ok(growth < 300, `peak RSS grew ${growth.toFixed(0)} MiB`);
    });
  });
}
