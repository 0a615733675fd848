// Node >= 22.18 strips types and runs only erasable TypeScript (no parameter
// properties, enums or namespaces; deno.json's erasableSyntaxOnly keeps them
// out): the entry points must load there as they are, and the README's
// recipe (`npx -y node@22.18.0 examples/thumbnails.ts …`) must serve. Node
// 22.18 comes from npm through npx, as a user gets it; when it cannot be
// had the tests fail, never skip (CI runs them).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { root } from "./_dev/paths.ts";
import { freePort } from "./_dev/ports.ts";
import { runToExit } from "./_dev/proc.ts";
import { get, startThumbnailNode } from "./_dev/thumbnail_nodes.ts";

const NODE_22 = ["-y", "node@22.18.0"];

describe("Node 22.18 runs the sources as they are", () => {
  it("imports mod.ts, dns.ts and node.ts (no ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX)", async () => {
    const script = 'Promise.all(["./mod.ts", "./dns.ts", "./node.ts"]' +
      ".map((f) => import(f))).then((ms) => console.log(process.version, " +
      'ms.map((m) => Object.keys(m).length).join(" ")))';
    const out = await runToExit("npx", [...NODE_22, "-e", script], {
      cwd: root,
      timeoutMs: 180_000,
      group: true,
    });
    assert.doesNotMatch(out.stderr, /ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX/);
    assert.equal(out.code, 0, out.stderr);
    const [version, ...counts] = out.stdout.trim().split(" ");
    assert.equal(version, "v22.18.0");
    assert.equal(counts.length, 3, out.stdout);
    for (const count of counts) assert.ok(Number(count) > 0, out.stdout);
  });

  it("runs the README's recipe: examples/thumbnails.ts answers a thumbnail, then stops", async () => {
    const port = await freePort();
    const node = await startThumbnailNode("npx", [
      ...NODE_22,
      "examples/thumbnails.ts",
      "--port",
      String(port),
      "--peers",
      `http://127.0.0.1:${port}`,
    ], { name: "npx node@22.18.0 examples/thumbnails.ts", group: true });
    try {
      assert.match(node.output(), /\(node\), peers:/);
      const res = await get(`${node.url}/thumbnails/big-file.jpg?w=64`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get("content-type"), "image/jpeg");
    } finally {
      await node.stop();
    }
  });
});
