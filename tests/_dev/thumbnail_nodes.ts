// examples/thumbnails.ts as child processes, for the tests of every runtime
// (Deno and Bun run the .ts file, Node a bundle of it): start a node, ask it
// over HTTP, read what it loaded, look inside the images it answers; and the
// seed's scenario as one test suite that each runtime's suite registers.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import sharp from "sharp";
import { HttpPool, Registry } from "../../mod.ts";
import { join, root } from "./paths.ts";
import { freePorts } from "./ports.ts";
import { startServer } from "./proc.ts";
import { THUMBNAIL_WIDTHS } from "./thumbnail_widths.ts";

/** The sample images the example ships. */
export const IMAGES: string = join(root, "examples", "images");

/** A running thumbnails node. */
export interface ThumbnailNode {
  url: string;
  /** What it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts `cmd args` (a thumbnails node) and resolves once it listens. */
export async function startThumbnailNode(
  cmd: string,
  args: string[],
  options: { name?: string; group?: boolean } = {},
): Promise<ThumbnailNode> {
  const server = await startServer(cmd, args, {
    cwd: root,
    ready: /^thumbnails node \S+ listening on (\S+) /m,
    timeoutMs: 30_000,
    ...options,
  });
  return { url: server.address, output: server.output, stop: server.stop };
}

/** A response, read whole. */
export interface Got {
  status: number;
  headers: Headers;
  body: Uint8Array;
  text: string;
}

/** GET `url`, bounded by 15 s. */
export async function get(url: string): Promise<Got> {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  const body = new Uint8Array(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    body,
    text: new TextDecoder().decode(body),
  };
}

/** The keys a node's getter made, from its `/stats`, in order. */
export async function loadedBy(node: ThumbnailNode): Promise<string[]> {
  const res = await get(`${node.url}/stats`);
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text).loaded;
}

/** What an encoded image is, as sharp reads it (AVIF is "avif", not "heif"). */
export async function imageInfo(
  bytes: Uint8Array,
): Promise<{ format: string; width: number; height: number }> {
  const m = await sharp(bytes).metadata();
  return {
    format: m.format === "heif" ? "avif" : m.format,
    width: m.width,
    height: m.height,
  };
}

/** The node that owns `key` in a cluster of `peers`: the ring every node builds. */
export function ownerOf(key: string, peers: string[]): string {
  const ring = new HttpPool(peers[0], { registry: new Registry() });
  ring.set(...peers);
  return ring.owner(key)!;
}

/**
 * The seed articles' scenario, on the runtime that `command` starts: node A
 * has `big-file.jpg` in its folder, node B beside it an empty folder, both
 * the same peer list. B serves the thumbnails A owns, made once, by A; a key
 * B owns is B's to make, and B answers it with a 404 that names B.
 */
export function describeSeedScenario(
  runtime: string,
  command: (args: string[]) => [string, string[]],
): void {
  describe(`the seed's scenario on ${runtime}: node A has big-file.jpg, node B beside it an empty folder`, () => {
    let a: ThumbnailNode | undefined;
    let b: ThumbnailNode | undefined;
    let peers: string[] = [];
    let tmp = "";

    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), "seed-scenario-"));
      mkdirSync(join(tmp, "a"));
      mkdirSync(join(tmp, "b"));
      copyFileSync(join(IMAGES, "big-file.jpg"), join(tmp, "a/big-file.jpg"));
      const ports = await freePorts(2);
      peers = ports.map((p) => `http://127.0.0.1:${p}`);
      const start = (port: number, dir: string) => {
        const [cmd, args] = command([
          "--port",
          String(port),
          "--dir",
          dir,
          "--peers",
          peers.join(","),
        ]);
        return startThumbnailNode(cmd, args, { name: `node :${port}` });
      };
      [a, b] = await Promise.all([
        start(ports[0], join(tmp, "a")),
        start(ports[1], join(tmp, "b")),
      ]);
    }, { timeout: 60_000 });

    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    /**
     * The first `n` keys of big-file.jpg at the example's widths, with each
     * of `queries` after the width, that `owner` owns.
     */
    const keysOwnedBy = (owner: string, n: number, queries = [""]) => {
      const keys = queries.flatMap((query) =>
        THUMBNAIL_WIDTHS.map((w) => `big-file.jpg?w=${w}${query}`)
      ).filter((key) => ownerOf(key, peers) === owner).slice(0, n);
      if (keys.length < n) throw new Error(`${owner} owns too few keys`);
      return keys;
    };

    it("B serves thumbnails of A's JPEG for the keys A owns, each made once, by A", async () => {
      const keys = [
        ...keysOwnedBy(a!.url, 3, ["", "&fmt=jpeg"]),
        ...keysOwnedBy(a!.url, 1, ["&fmt=png", "&fmt=webp"]),
      ];
      for (const key of keys) {
        const first = await get(`${b!.url}/thumbnails/${key}`);
        assert.equal(first.status, 200, `${key}: ${first.text}`);
        assert.equal(first.headers.get("x-groupcache-owner"), a!.url);
        const format = /fmt=(\w+)/.exec(key)?.[1] ?? "jpeg";
        assert.equal(first.headers.get("content-type"), `image/${format}`);
        const info = await imageInfo(first.body);
        assert.equal(info.format, format);
        // Never enlarged: the image is 800 pixels wide.
        assert.equal(
          info.width,
          Math.min(Number(/w=(\d+)/.exec(key)![1]), 800),
        );
        const again = await get(`${b!.url}/thumbnails/${key}`);
        assert.deepEqual(again.body, first.body);
      }
      assert.deepEqual(await loadedBy(a!), keys);
      assert.deepEqual(await loadedBy(b!), []);
    });

    it("B answers a key it owns with a 404 that names B, not its folder", async () => {
      const [key] = keysOwnedBy(b!.url, 1);
      const res = await get(`${b!.url}/thumbnails/${key}`);
      assert.equal(res.status, 404, res.text);
      assert.equal(res.text, `no image big-file.jpg on ${b!.url}\n`);
      assert.ok(!res.text.includes(tmp), res.text);
      assert.ok(!(await loadedBy(a!)).includes(key), "A never made B's key");
    });
  });
}
