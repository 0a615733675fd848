// Smoke tests of the examples as their users run them: examples/thumbnails.ts
// and the demo (tests/_dev/demo.ts, `deno task demo`, which drives a cluster
// of them) as child processes of the runtime running the tests (`deno run -A`
// under Deno, `bun run` under Bun), over real sockets.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { deflateSync } from "node:zlib";
import { crc32 } from "../src/crc32.ts";
import { skipWithoutGo } from "./_dev/go.ts";
import { join, root } from "./_dev/paths.ts";
import { freePort } from "./_dev/ports.ts";
import { type Exited, runToExit } from "./_dev/proc.ts";
import { rawGet } from "./_dev/raw_get.ts";
import { skipWithout } from "./_dev/services.ts";
import { runtimeCommand, runtimeName } from "./_dev/runtimes.ts";
import {
  describeSeedScenario,
  get,
  imageInfo,
  IMAGES,
  loadedBy,
  startThumbnailNode,
  type ThumbnailNode,
} from "./_dev/thumbnail_nodes.ts";
import { THUMBNAIL_WIDTHS } from "./_dev/thumbnail_widths.ts";

const THUMBNAILS = join(root, "examples/thumbnails.ts");
const DEMO = join(root, "tests/_dev/demo.ts");
/** The sample images, one per input format, and sharp's name of each. */
const SAMPLES: [string, string][] = [
  ["big-file.jpg", "jpeg"],
  ["circle.png", "png"],
  ["mandelbrot.webp", "webp"],
  ["stripes.gif", "gif"],
  ["gradient.avif", "avif"],
];

/** Runs a script under this runtime to its end; kills it and rejects after `timeoutMs`. */
function runScript(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<Exited> {
  const [bin, argv] = runtimeCommand(script, args);
  return runToExit(bin, argv, { cwd: root, timeoutMs });
}

/** Starts examples/thumbnails.ts under this runtime on a free port. */
async function startThumbnails(extra: string[] = []): Promise<ThumbnailNode> {
  const port = await freePort();
  const [bin, argv] = runtimeCommand(THUMBNAILS, [
    "--port",
    String(port),
    ...extra,
  ]);
  return await startThumbnailNode(bin, argv);
}

/**
 * A valid 1-bit grey PNG of `side`×`side` black pixels: a few tens of KB
 * that decode to `side`² pixels.
 */
function pngBomb(side: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const header = new Uint8Array(13);
  const h = new DataView(header.buffer);
  h.setUint32(0, side);
  h.setUint32(4, side);
  header.set([1, 0, 0, 0, 0], 8); // bit depth 1, grey, deflate, no filter, no interlace
  const rows = new Uint8Array(side * (1 + Math.ceil(side / 8))); // all zero
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(rows, { level: 9 }))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return png;
}

describe(`examples/thumbnails.ts as a process (${runtimeName()})`, () => {
  let node: ThumbnailNode | undefined; // the shipped sample images
  let odd: ThumbnailNode | undefined; // a folder with files that are not good images
  let tmp = ""; // odd's folder is tmp/images; tmp/outside.png is beside it
  let dir = "";

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "thumbnails-test-"));
    dir = join(tmp, "images");
    mkdirSync(dir);
    mkdirSync(join(dir, "folder.png"));
    copyFileSync(join(IMAGES, "circle.png"), join(dir, "circle.png"));
    copyFileSync(join(IMAGES, "circle.png"), join(tmp, "outside.png"));
    writeFileSync(join(dir, "notes.png"), "this is text, not an image\n");
    const jpeg = readFileSync(join(IMAGES, "big-file.jpg"));
    writeFileSync(join(dir, "broken.jpg"), jpeg.subarray(0, 700));
    writeFileSync(join(dir, "bomb.png"), pngBomb(16_000));
    [node, odd] = await Promise.all([
      startThumbnails(),
      startThumbnails(["--dir", dir]),
    ]);
  }, { timeout: 60_000 });

  after(async () => {
    await Promise.all([node?.stop(), odd?.stop()]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("makes a thumbnail of each sample image, in the image's own format by default", async () => {
    for (const [file, format] of SAMPLES) {
      const res = await get(`${node!.url}/thumbnails/${file}?w=64`);
      assert.equal(res.status, 200, `${file}: ${res.text}`);
      assert.equal(res.headers.get("content-type"), `image/${format}`);
      assert.equal(res.headers.get("x-groupcache-owner"), node!.url);
      assert.equal(res.headers.get("x-groupcache-cache"), "miss");
      const info = await imageInfo(res.body);
      assert.equal(info.format, format, file);
      assert.equal(info.width, 64, file);
    }
  });

  it("converts to the format ?fmt= names (jpg is jpeg)", async () => {
    const wanted = [...SAMPLES.map(([, f]) => f), "jpg"];
    for (const fmt of wanted) {
      const res = await get(
        `${node!.url}/thumbnails/circle.png?w=48&fmt=${fmt}`,
      );
      assert.equal(res.status, 200, `${fmt}: ${res.text}`);
      const format = fmt === "jpg" ? "jpeg" : fmt;
      assert.equal(res.headers.get("content-type"), `image/${format}`);
      assert.deepEqual(await imageInfo(res.body), {
        format,
        width: 48,
        height: 36,
      });
    }
  });

  it("never enlarges: a width above the image's is the image's", async () => {
    const res = await get(`${node!.url}/thumbnails/stripes.gif?w=400`);
    assert.equal(res.status, 200, res.text);
    assert.equal((await imageInfo(res.body)).width, 96);
  });

  it("answers the same bytes from its cache on the second get", async () => {
    const first = await get(`${node!.url}/thumbnails/big-file.jpg?w=100`);
    const second = await get(`${node!.url}/thumbnails/big-file.jpg?w=100`);
    assert.equal((await imageInfo(first.body)).width, 128); // rounded up
    assert.equal(first.headers.get("x-groupcache-cache"), "miss");
    assert.equal(second.headers.get("x-groupcache-cache"), "hit");
    assert.deepEqual(second.body, first.body);
  });

  it("rounds ?w= up to one of its 16 widths: 40 distinct widths, one thumbnail", async () => {
    const widths = Array.from({ length: 40 }, (_, i) => 161 + i); // to 200
    for (const w of widths) {
      const res = await get(`${node!.url}/thumbnails/mandelbrot.webp?w=${w}`);
      assert.equal(res.status, 200, `${w}: ${res.text}`);
      assert.equal((await imageInfo(res.body)).width, 200, `w=${w}`);
    }
    const loaded = await loadedBy(node!);
    assert.deepEqual(
      loaded.filter((k) => /^mandelbrot\.webp\?w=(1[6-9]\d|200)$/.test(k)),
      ["mandelbrot.webp?w=200"],
    );
    // A key of another width is refused on the peer route too.
    const peer = await get(
      `${node!.url}/_groupcache/thumbnails/mandelbrot.webp%3Fw%3D199`,
    );
    assert.equal(peer.status, 400, peer.text);
    const listed = /keys take ([\d, ]+)/.exec(peer.text)![1].split(", ");
    assert.deepEqual(listed.map(Number), THUMBNAIL_WIDTHS);
  });

  it("tells in /stats that its getter ran once per key", async () => {
    const loaded = await loadedBy(node!);
    assert.deepEqual(
      loaded.filter((k) => k === "big-file.jpg?w=128"),
      ["big-file.jpg?w=128"],
    );
    assert.equal(new Set(loaded).size, loaded.length);
  });

  it("lists every sample image on its home page", async () => {
    const res = await get(`${node!.url}/`);
    assert.equal(res.status, 200);
    const files = readdirSync(IMAGES);
    assert.deepEqual(files.sort(), SAMPLES.map(([f]) => f).sort());
    for (const f of files) {
      assert.match(res.text, new RegExp(`/thumbnails/${f}`));
    }
  });

  it("shows every thumbnail inline on its gallery page, fetched with getMany", async () => {
    const res = await get(`${node!.url}/gallery?w=48`);
    assert.equal(res.status, 200, res.text);
    const sources = [
      ...res.text.matchAll(
        /<img src="data:([^;]+);base64,([^"]+)" alt="([^"]+)"/g,
      ),
    ];
    assert.deepEqual(
      sources.map((m) => m[3]).sort(),
      SAMPLES.map(([f]) => f).sort(),
    );
    for (const [, type, data, file] of sources) {
      const info = await imageInfo(new Uint8Array(Buffer.from(data, "base64")));
      assert.equal(type, `image/${info.format}`, file);
      assert.ok(info.width <= 48, `${file}: ${info.width} pixels wide`);
    }
    const odd = await get(`${node!.url}/gallery?w=0`);
    assert.equal(odd.status, 400);
  });

  it("names each image it cannot make on its gallery page, and shows the others", async () => {
    const res = await get(`${odd!.url}/gallery?w=48`);
    assert.equal(res.status, 200, res.text);
    assert.match(
      res.text,
      /<img src="data:image\/png;base64,[^"]+" alt="circle.png">/,
    );
    assert.match(res.text, /<li class="error">broken.jpg: /);
    assert.match(res.text, /<li class="error">notes.png: /);
  });

  it("shows a thumbnail of each image on its home page, each an image it answers", async () => {
    const page = (await get(`${node!.url}/`)).text;
    const sources = [...page.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(
      sources.map((src) => new URL(src, node!.url).pathname).sort(),
      SAMPLES.map(([f]) => `/thumbnails/${f}`).sort(),
    );
    for (const src of sources) {
      const res = await get(new URL(src, node!.url).href);
      assert.equal(res.status, 200, `${src}: ${res.text}`);
      const info = await imageInfo(res.body);
      assert.equal(res.headers.get("content-type"), `image/${info.format}`);
      assert.ok(info.width <= 128, `${src}: ${info.width} pixels wide`);
    }
  });

  // [name, node, path, status, body]; "node" is the sample folder, "odd" the
  // temporary one.
  const failures: [string, "node" | "odd", string, number, RegExp][] = [
    [
      "a missing file",
      "node",
      "/thumbnails/nope.png?w=64",
      404,
      /^no image nope\.png on http/,
    ],
    [
      "a folder named like an image",
      "odd",
      "/thumbnails/folder.png",
      404,
      /^no image folder\.png on/,
    ],
    [
      "a zero width",
      "node",
      "/thumbnails/big-file.jpg?w=0",
      400,
      /bad width "0"/,
    ],
    [
      "a width that is not a number",
      "node",
      "/thumbnails/big-file.jpg?w=abc",
      400,
      /bad width/,
    ],
    [
      "a width above 4096",
      "node",
      "/thumbnails/big-file.jpg?w=5000",
      400,
      /bad width/,
    ],
    [
      "an unknown format",
      "node",
      "/thumbnails/big-file.jpg?fmt=bmp",
      400,
      /bad format "bmp"/,
    ],
    [
      "a file that is not an image by name",
      "node",
      "/thumbnails/deno.json",
      400,
      /bad file name/,
    ],
    [
      "a path out of the folder",
      "node",
      "/thumbnails/..%2Fdeno.json",
      400,
      /bad file name/,
    ],
    [
      "a path out of the folder to an image",
      "odd",
      "/thumbnails/..%2Foutside.png",
      400,
      /bad file name/,
    ],
    [
      "a hidden file",
      "node",
      "/thumbnails/.big-file.jpg",
      400,
      /bad file name/,
    ],
    ["an unknown route", "node", "/elsewhere", 404, /^not found/],
    [
      "a file that is not an image",
      "odd",
      "/thumbnails/notes.png?w=64",
      415,
      /not a JPEG, PNG, WebP, GIF or AVIF/,
    ],
    [
      "a truncated JPEG",
      "odd",
      "/thumbnails/broken.jpg?w=64",
      422,
      /broken\.jpg cannot be decoded/,
    ],
    // The peer route: the same check of the key before the pool loads it.
    [
      "a traversal key on the peer route",
      "odd",
      "/_groupcache/thumbnails/..%2F..%2Ftmp%2Fx.png%3Fw%3D8",
      400,
      /bad file name "\.\.\/\.\.\/tmp\/x\.png"/,
    ],
    [
      "a key naming an image outside --dir, on the peer route",
      "odd",
      "/_groupcache/thumbnails/..%2Foutside.png%3Fw%3D8",
      400,
      /bad file name/,
    ],
    [
      "a hidden file on the peer route",
      "odd",
      "/_groupcache/thumbnails/.circle.png%3Fw%3D8",
      400,
      /bad file name "\.circle\.png"/,
    ],
    [
      "a traversal key under an escaped group name",
      "odd",
      "/_groupcache/thumb%6Eails/..%2Foutside.png%3Fw%3D8",
      400,
      /bad file name/,
    ],
    [
      "a peer key without a width",
      "odd",
      "/_groupcache/thumbnails/circle.png",
      400,
      /bad key "circle\.png"/,
    ],
    [
      "a peer key with a bad width",
      "odd",
      "/_groupcache/thumbnails/circle.png%3Fw%3D0",
      400,
      /bad width/,
    ],
  ];
  it("refuses a decompression bomb (a 16,000×16,000 PNG of ~31 KB) at once, for every width", async () => {
    for (const w of [64, 65, 66, 67]) {
      const t0 = performance.now();
      const res = await get(`${odd!.url}/thumbnails/bomb.png?w=${w}`);
      const ms = performance.now() - t0;
      assert.equal(res.status, 422, res.text);
      assert.match(res.text, /pixel limit/);
      // The bench-like target is 100 ms; a loaded machine gets room.
      assert.ok(ms < 2_000, `${ms} ms`);
    }
  });

  for (const [name, which, path, status, body] of failures) {
    it(`answers ${status} for ${name}`, async () => {
      const res = await get((which === "node" ? node : odd)!.url + path);
      assert.equal(res.status, status, res.text);
      assert.match(res.text, body);
    });
  }

  it("serves good keys on the peer route, and good images beside bad ones", async () => {
    const peer = await get(
      `${odd!.url}/_groupcache/thumbnails/circle.png%3Fw%3D32`,
    );
    assert.equal(peer.status, 200, peer.text);
    assert.equal(peer.headers.get("content-type"), "application/x-protobuf");
    const pub = await get(`${odd!.url}/thumbnails/circle.png?w=32`);
    assert.equal(pub.status, 200, pub.text);
    assert.equal((await imageInfo(pub.body)).width, 32);
  });

  it("never loads a key that names a file outside --dir", async () => {
    // Dot segments sent raw (fetch would resolve them): Deno.serve hands them
    // to the handler as they are (400), Bun.serve resolves them first (404).
    const raw = await rawGet(
      Number(new URL(odd!.url).port),
      "/_groupcache/thumbnails/../../outside.png%3Fw%3D8",
    );
    assert.ok([400, 404].includes(raw.status), `raw: ${raw.status}`);
    const loaded = await loadedBy(odd!);
    assert.ok(loaded.length > 0, "odd made some thumbnails");
    for (const key of loaded) assert.match(key, /^[\w][\w.-]*\?w=\d+/, key);
  });

  it("names no server path in any error body, on either route", async () => {
    const paths = [
      ...failures.map(([, which, path]) => [which, path]),
      ["odd", "/_groupcache/thumbnails/nope.png%3Fw%3D16"],
      ["odd", "/_groupcache/thumbnails/folder.png%3Fw%3D16"],
      ["odd", "/_groupcache/thumbnails/notes.png%3Fw%3D16"],
      ["odd", "/_groupcache/thumbnails/broken.jpg%3Fw%3D16"],
      ["odd", "/_groupcache/nope/x"],
    ];
    for (const [which, path] of paths) {
      const res = await get((which === "node" ? node : odd)!.url + path);
      assert.ok(res.status >= 400, `${path}: ${res.status}`);
      for (const secret of [dir, tmp, root]) {
        assert.ok(!res.text.includes(secret), `${path} answered: ${res.text}`);
      }
    }
  });

  it("prints no warning about request.signal while serving (deno.json opts in to Deno's new abort behaviour)", () => {
    for (const n of [node!, odd!]) {
      assert.doesNotMatch(n.output(), /request\.signal aborts/);
    }
  });

  const badFlags: [string, string[], RegExp][] = [
    ["a port that is not a number", ["--port", "nope"], /--port must be/],
    ["a flag without its value", ["--port"], /--port/],
    [
      "a folder that is not there",
      ["--dir", "/nonexistent"],
      /--dir \/nonexistent is not a folder/,
    ],
    ["a peer that is not a URL", ["--peers", "not-a-url"], /not a URL/],
    [
      "a peer list without this node",
      ["--port", "1", "--peers", "http://127.0.0.1:2"],
      /must include this node's own URL/,
    ],
    ["an unknown flag", ["--bogus"], /--bogus/],
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

describeSeedScenario(
  runtimeName(),
  (args) => runtimeCommand(THUMBNAILS, args),
);

describe(`the demo (tests/_dev/demo.ts) end to end (${runtimeName()})`, () => {
  /** Every key the demo must report: each sample image at 64 and 128. */
  const expectedKeys = () =>
    readdirSync(IMAGES).flatMap((f) => [`${f}?w=64`, `${f}?w=128`]);

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
    for (const key of expectedKeys()) {
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

  it(
    "with --etcd: nodes join through a real etcd, one killed leaves, one joins, rings converge, /metrics shown",
    {
      skip: skipWithout("etcd"),
      timeout: 120_000,
    },
    async () => {
      const r = await runScript(DEMO, ["--etcd", "--quiet"], 90_000);
      assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.match(
        r.stdout,
        /rings converged in \d+ ms, fingerprint [0-9a-f]{8}\/3:/,
      );
      assert.match(r.stdout, /each loaded exactly once cluster-wide/);
      assert.match(
        r.stdout,
        /n3 killed with SIGKILL: n1 and n2 dropped it after \d+ ms .*ring [0-9a-f]{8}\/2/,
      );
      assert.match(r.stdout, /n4 \((deno|bun)\) started: every ring has it/);
      for (const n of ["n1", "n2", "n4"]) {
        assert.match(r.stdout, new RegExp(`^   ${n} \\S+/metrics$`, "m"));
      }
      assert.match(r.stdout, /^ +groupcache_peer_up\{peer="[^"]+"\} 1$/m);
      assert.match(r.stdout, /^OK: the rings converged/m);
      await assertAllStopped(r.stdout);
    },
  );

  it("exits 2 with its usage for an unknown flag", async () => {
    const r = await runScript(DEMO, ["--bogus"], 30_000);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown argument "--bogus"[\s\S]*usage:/);
  });
});
