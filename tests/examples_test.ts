// Smoke tests of the examples as their users run them: examples/thumbnails.ts
// and the demo (tests/_dev/demo.ts, `deno task demo`, which drives a cluster
// of them) as child processes of the runtime running the tests (`deno run -A`
// under Deno, `bun run` under Bun), over real sockets.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { decodePng } from "../examples/png.ts";
import { skipWithoutGo } from "./_dev/go.ts";
import { join, root } from "./_dev/paths.ts";
import { freePort } from "./_dev/ports.ts";
import { type Exited, runToExit, startServer } from "./_dev/proc.ts";
import { runtimeCommand, runtimeName } from "./_dev/runtimes.ts";

const THUMBNAILS = join(root, "examples/thumbnails.ts");
const DEMO = join(root, "tests/_dev/demo.ts");
const IMAGES = join(root, "examples/images");
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Runs a script under this runtime to its end; kills it and rejects after `timeoutMs`. */
function runScript(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<Exited> {
  const [bin, argv] = runtimeCommand(script, args);
  return runToExit(bin, argv, { cwd: root, timeoutMs });
}

interface Node {
  url: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts examples/thumbnails.ts on a free port; resolves once it listens. */
async function startThumbnails(extra: string[] = []): Promise<Node> {
  const port = await freePort();
  const [bin, argv] = runtimeCommand(THUMBNAILS, [
    "--port",
    String(port),
    ...extra,
  ]);
  const server = await startServer(bin, argv, {
    cwd: root,
    ready: /listening on /,
    timeoutMs: 20_000,
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stderr: server.stderr,
    stop: () => server.stop(),
  };
}

async function get(url: string) {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return {
    status: res.status,
    headers: res.headers,
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe(`examples/thumbnails.ts as a process (${runtimeName()})`, () => {
  let node: Node; // the shipped sample images
  let odd: Node; // a folder with files that are not good PNGs
  let dir = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "thumbnails-test-"));
    copyFileSync(join(IMAGES, "palette.png"), join(dir, "palette.png"));
    writeFileSync(join(dir, "notes.png"), "this is text, not a PNG\n");
    writeFileSync(
      join(dir, "broken.png"),
      new Uint8Array([...PNG_SIGNATURE, 0, 0, 0, 13, 73, 72, 68, 82, 1, 2]),
    );
    [node, odd] = await Promise.all([
      startThumbnails(),
      startThumbnails(["--dir", dir]),
    ]);
  }, { timeout: 60_000 });

  after(async () => {
    await Promise.all([node?.stop(), odd?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("makes a 64-pixel-wide PNG thumbnail on the first get", async () => {
    const res = await get(`${node.url}/thumbnails/mandelbrot.png?w=64`);
    assert.equal(res.status, 200, text(res.body));
    assert.equal(res.headers.get("content-type"), "image/png");
    assert.equal(res.headers.get("x-groupcache-owner"), node.url);
    assert.equal(res.headers.get("x-groupcache-cache"), "miss");
    assert.deepEqual([...res.body.subarray(0, 8)], PNG_SIGNATURE);
    const img = await decodePng(res.body);
    assert.deepEqual([img.width, img.height], [64, 48]); // 1024×768 scaled
  });

  it("answers the same bytes from its cache on the second get", async () => {
    const first = await get(`${node.url}/thumbnails/mandelbrot.png?w=64`);
    const second = await get(`${node.url}/thumbnails/mandelbrot.png?w=64`);
    assert.equal(second.headers.get("x-groupcache-cache"), "hit");
    assert.deepEqual(second.body, first.body);
  });

  it("tells in /stats that its getter ran once for the key", async () => {
    const res = await get(`${node.url}/stats`);
    const stats = JSON.parse(text(res.body));
    assert.equal(stats.self, node.url);
    assert.deepEqual(
      stats.loaded.filter((k: string) => k === "mandelbrot.png?w=64"),
      ["mandelbrot.png?w=64"],
    );
    assert.ok(stats.stats.cacheHits >= 1);
  });

  it("lists every sample image on its home page", async () => {
    const res = await get(`${node.url}/`);
    assert.equal(res.status, 200);
    const page = text(res.body);
    const images = (await readdir(IMAGES)).filter((f) => f.endsWith(".png"));
    assert.ok(images.length > 0);
    for (const f of images) assert.match(page, new RegExp(`/thumbnails/${f}`));
  });

  const failures: [string, "node" | "odd", string, number, RegExp][] = [
    ["a missing file", "node", "/thumbnails/nope.png?w=64", 404, /no image/],
    ["a zero width", "node", "/thumbnails/grey.png?w=0", 400, /bad width/],
    [
      "a width that is not a number",
      "node",
      "/thumbnails/grey.png?w=abc",
      400,
      /bad width/,
    ],
    [
      "a width above 4096",
      "node",
      "/thumbnails/grey.png?w=5000",
      400,
      /bad width/,
    ],
    [
      "a path out of the folder",
      "node",
      "/thumbnails/..%2Fdeno.json",
      400,
      /bad file name/,
    ],
    ["an unknown route", "node", "/elsewhere", 404, /not found/],
    [
      "a file that is not a PNG",
      "odd",
      "/thumbnails/notes.png?w=64",
      415,
      /png:/,
    ],
    ["a truncated PNG", "odd", "/thumbnails/broken.png?w=64", 422, /png:/],
  ];
  for (const [name, which, path, status, message] of failures) {
    it(`answers ${status} for ${name}`, async () => {
      const res = await get((which === "node" ? node : odd).url + path);
      assert.equal(res.status, status, text(res.body));
      assert.match(text(res.body), message);
    });
  }

  it("still serves good images from the same folder as bad ones", async () => {
    const res = await get(`${odd.url}/thumbnails/palette.png?w=32`);
    assert.equal(res.status, 200, text(res.body));
    assert.equal((await decodePng(res.body)).width, 32);
  });

  const badFlags: [string, string[], RegExp][] = [
    ["a port that is not a number", ["--port", "nope"], /--port must be/],
    ["a flag without its value", ["--port"], /--port needs a value/],
    ["a peer that is not a URL", ["--peers", "not-a-url"], /not a URL/],
    [
      "a peer list without this node",
      ["--port", "1", "--peers", "http://127.0.0.1:2"],
      /must include this node's own URL/,
    ],
    ["an unknown flag", ["--bogus"], /unknown argument "--bogus"/],
  ];
  for (const [name, args, message] of badFlags) {
    it(`exits 2 with a clear message for ${name}`, async () => {
      const r = await runScript(THUMBNAILS, args, 20_000);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: thumbnails\.ts/);
    });
  }
});

describe(`the demo (tests/_dev/demo.ts) end to end (${runtimeName()})`, () => {
  /** Every key the demo must report: each sample image at 64 and 128. */
  async function expectedKeys(): Promise<string[]> {
    const images = (await readdir(IMAGES)).filter((f) => f.endsWith(".png"));
    return images.flatMap((f) => [`${f}?w=64`, `${f}?w=128`]);
  }

  /** The demo's nodes are gone once it has exited. */
  async function assertAllStopped(report: string) {
    const urls = [...report.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) =>
      m[0]
    );
    assert.ok(urls.length >= 3, report);
    for (const url of new Set(urls)) {
      await assert.rejects(
        fetch(url + "/", { signal: AbortSignal.timeout(5000) }),
        `${url} still answers after the demo exited`,
      );
    }
  }

  it("runs a three-node cluster, reports every key, and stops every node", {
    timeout: 120_000,
  }, async () => {
    const r = await runScript(DEMO, [], 90_000);
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /starting node 3\/3/);
    for (const key of await expectedKeys()) {
      assert.match(
        r.stdout,
        new RegExp(`^  ${key.replace(/[.?]/g, "\\$&")} `, "m"),
      );
    }
    assert.match(r.stdout, /^OK: every key's getter ran exactly once/m);
    await assertAllStopped(r.stdout);
  });

  it("adds a real Go groupcache node with --go", {
    skip: skipWithoutGo(),
    timeout: 180_000,
  }, async () => {
    const r = await runScript(DEMO, ["--go"], 150_000);
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /^ {2}go {4}go /m);
    assert.match(r.stdout, /the Go node \(github\.com\/golang\/groupcache/);
    assert.match(r.stdout, /^OK: /m);
    await assertAllStopped(r.stdout);
  });

  it("exits 2 with its usage for an unknown flag", async () => {
    const r = await runScript(DEMO, ["--bogus"], 30_000);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown argument "--bogus"[\s\S]*usage:/);
  });
});
