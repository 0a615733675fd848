/**
 * The seed articles' thumbnail server, for real: `GET /thumbnails/<file>?w=128`
 * answered through a `thumbnails` group shared by the peers, so a node serves
 * a thumbnail that only another node could make. The same server answers the
 * peer protocol (`/_groupcache/…`) and the user route.
 *
 * ```sh
 * bun run examples/thumbnails.ts            # one node on :8080, examples/images
 * deno run -A examples/thumbnails.ts
 * # a cluster, one process per port:
 * bun run examples/thumbnails.ts --port 8081 \
 *   --peers http://127.0.0.1:8080,http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083
 * ```
 *
 * Routes: `/` lists the images; `/thumbnails/<file>?w=<width>` (default 128)
 * answers a PNG thumbnail with `x-groupcache-owner` (the node that owns the
 * key) and `x-groupcache-cache` (`hit` or `miss`); `/stats` tells the
 * group's counters and which keys this node's getter loaded.
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Group, HttpPool, PeerError } from "../mod.ts";
import { thumbnail, UnsupportedImageError } from "./png.ts";
import { serve } from "./serve.ts";

const USAGE =
  `usage: thumbnails.ts [--port 8080] [--self URL] [--peers URL,URL,...] [--dir DIR] [--host 127.0.0.1]
  --port   port to listen on (default 8080)
  --self   this node's URL as the peers know it (default http://127.0.0.1:PORT)
  --peers  every node's URL, this one included, the same list on every node
           (default: just this node)
  --dir    folder of PNG images (default: the sample images in examples/images)`;

/** The parsed command line. */
export interface Options {
  port: number;
  host: string;
  self: string;
  peers: string[];
  dir: string;
}

class UsageError extends Error {
  override name = "UsageError";
}

/** Parses flags (`--name value` or `--name=value`); throws a UsageError on bad input. */
export function parseFlags(args: string[]): Options {
  const known = new Set(["port", "self", "peers", "dir", "host"]);
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") throw new UsageError("");
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (!m || !known.has(m[1])) {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
    const value = m[2] ?? args[++i];
    if (value === undefined || value === "") {
      throw new UsageError(`--${m[1]} needs a value`);
    }
    values.set(m[1], value);
  }
  const port = Number(values.get("port") ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(
      `--port must be a whole number from 0 to 65535, got ${
        values.get("port")
      }`,
    );
  }
  const host = values.get("host") ?? "127.0.0.1";
  const self = values.get("self") ?? `http://${host}:${port}`;
  const peers = values.get("peers")?.split(",").map((p) => p.trim()) ?? [self];
  const dir = values.get("dir") ??
    fileURLToPath(new URL("./images", import.meta.url));
  return { port, host, self, peers, dir };
}

/** Thrown by the getter for a file that is not there; answered with 404. */
class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** Makes the node: its pool, its group, and the handler for all its routes. */
export function createNode(options: Options) {
  const pool = new HttpPool(options.self);
  pool.set(...options.peers); // validates: bad URLs, duplicates, self missing
  const loaded: string[] = []; // keys this node's getter made

  // The key is "<file>?w=<width>": the width is part of what is cached.
  const thumbnails = new Group("thumbnails", 64 << 20, async (key, dest) => {
    const [file, query] = key.split("?w=");
    const width = Number(query);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(options.dir, file));
    } catch {
      throw new NotFoundError(
        `no image ${file} in ${options.dir} on ${options.self}`,
      );
    }
    dest.setBytes(await thumbnail(bytes, width));
    loaded.push(key);
  }, { peers: pool });

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname.startsWith(pool.basePath)) return pool.handler(req);
    if (url.pathname === "/stats") {
      return Response.json({
        self: options.self,
        stats: thumbnails.stats,
        main: thumbnails.cacheStats("main"),
        hot: thumbnails.cacheStats("hot"),
        loaded,
      });
    }
    if (url.pathname === "/") {
      const files = await readdir(options.dir);
      const links = files.filter((f) => f.endsWith(".png"))
        .map((f) =>
          `<li><a href="/thumbnails/${
            encodeURIComponent(f)
          }?w=128">${f}</a></li>`
        );
      return new Response(
        `<!doctype html><h1>thumbnails on ${options.self}</h1><ul>${
          links.join("")
        }</ul>`,
        {
          headers: { "content-type": "text/html; charset=utf-8" },
        },
      );
    }
    if (!url.pathname.startsWith("/thumbnails/")) {
      return text(404, "not found: try /thumbnails/<file>?w=128");
    }
    const file = decodeURIComponent(url.pathname.slice("/thumbnails/".length));
    if (file === "" || basename(file) !== file || file.startsWith(".")) {
      return text(
        400,
        `bad file name ${JSON.stringify(file)}: a plain file name is expected`,
      );
    }
    const w = url.searchParams.get("w") ?? "128";
    if (!/^[1-9][0-9]{0,3}$/.test(w) || Number(w) > 4096) {
      return text(400, `bad width ${JSON.stringify(w)}: ?w= takes 1 to 4096`);
    }
    const key = `${file}?w=${w}`;
    const hitsBefore = thumbnails.stats.cacheHits;
    try {
      const view = await thumbnails.get(key, req); // req.signal, read only on a miss;
      return new Response(view.stream(), {
        headers: {
          "content-type": "image/png",
          "x-groupcache-owner": pool.owner(key) ?? options.self,
          "x-groupcache-cache": thumbnails.stats.cacheHits > hitsBefore
            ? "hit"
            : "miss",
        },
      });
    } catch (err) {
      if (err instanceof NotFoundError) return text(404, err.message);
      if (err instanceof UnsupportedImageError) {
        return text(err.kind === "corrupt" ? 422 : 415, err.message);
      }
      if (err instanceof PeerError) return text(502, err.message);
      return text(500, (err as Error)?.message ?? String(err));
    }
  };
  return { pool, thumbnails, handler, loaded };
}

function text(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

async function main(): Promise<void> {
  let options: Options;
  let node: ReturnType<typeof createNode>;
  try {
    options = parseFlags(process.argv.slice(2));
    node = createNode(options);
  } catch (err) {
    const message = (err as Error).message;
    if (err instanceof UsageError && message === "") {
      console.log(USAGE);
      process.exit(0);
    }
    console.error(`thumbnails: ${message}\n${USAGE}`);
    process.exit(2);
  }
  let served;
  try {
    served = await serve(node.handler, options.port, options.host);
  } catch (err) {
    console.error(
      `thumbnails: cannot listen on ${options.host}:${options.port}: ${
        (err as Error).message
      }`,
    );
    process.exit(1);
  }
  console.log(
    `thumbnails node ${options.self} listening on ${served.url} (${served.runtime}), peers: ${
      options.peers.join(" ")
    }`,
  );
  console.log(`try ${served.url}/thumbnails/mandelbrot.png?w=128`);
  const stop = async () => {
    await served.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (import.meta.main) await main();
