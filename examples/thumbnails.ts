/**
 * The seed articles' thumbnail server, for real: `GET /thumbnails/<file>?w=128`
 * answers a thumbnail made with sharp (libvips) through a `thumbnails` group
 * shared by the peers, so a node serves thumbnails of images that only
 * another node has. The same port answers the peer protocol (`/_groupcache/…`).
 *
 * ```sh
 * npx bun run examples/thumbnails.ts                  # one node on :8080, examples/images
 * npx -y deno@2.9.6 run -A examples/thumbnails.ts --port 8081 \
 *   --peers http://127.0.0.1:8080,http://127.0.0.1:8081
 * ```
 *
 * Routes: `/` shows a thumbnail of each image, linked to the image at full
 * size; `/gallery?w=<width>` the same page with every thumbnail inlined,
 * fetched in one `getMany` (one request per peer that owns some of them);
 * `/thumbnails/<file>?w=<width>&fmt=<format>`
 * answers a thumbnail `w` pixels wide (default 128, never enlarged) in
 * `fmt` (jpeg, png, webp, gif or avif; default: the image's own format),
 * `w` (1 to 4096) rounded up to one of `WIDTHS`, so that however
 * many widths a client asks for, an image is decoded for at most 16,
 * with `x-groupcache-owner` (the node that owns the key) and
 * `x-groupcache-cache` (`hit` or `miss`); `/stats` tells the group's
 * counters and which keys this node's getter loaded.
 *
 * The key is `<file>?w=<width>` or `<file>?w=<width>&fmt=<format>` with a
 * width of `WIDTHS`, and
 * {@linkcode parseKey} is its one check: the public route, the peer route and
 * the getter all use it, so a key that names anything but a plain image file
 * in `--dir` is a 400 on either route and is never read.
 * @module
 */
import { statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { HttpPool } from "../mod.ts";
import { closeOnSignals, serve } from "./serve.ts";

const USAGE =
  `usage: thumbnails.ts [--port 8080] [--host 127.0.0.1] [--self URL] [--peers URL,URL,...] [--dir DIR]
  --port   port to listen on (default 8080)
  --host   address to listen on (default 127.0.0.1)
  --self   this node's URL as the peers know it (default http://HOST:PORT)
  --peers  every node's URL, this one included: the same list on every node
           (default: just this node)
  --dir    folder of images (default: the sample images in examples/images)`;

/** Image file extensions this server reads, by sharp's format name. */
const INPUTS = new Map([
  ["jpg", "jpeg"],
  ["jpeg", "jpeg"],
  ["png", "png"],
  ["webp", "webp"],
  ["gif", "gif"],
  ["avif", "avif"],
]);
/** What `?fmt=` takes, with the content type of each. */
const OUTPUTS = {
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  avif: "image/avif",
} as const;
type Format = keyof typeof OUTPUTS;
/**
 * The widths thumbnails are made at: `?w=` is rounded up to one of them
 * (the browser scales it down), and a key of any other width is a 400, so a
 * client cannot make a node decode an image once per distinct `?w=`.
 */
const WIDTHS = [
  16,
  32,
  48,
  64,
  96,
  128,
  160,
  200,
  256,
  320,
  400,
  512,
  640,
  1024,
  2048,
  4096,
] as const;
const MAX_WIDTH = WIDTHS[WIDTHS.length - 1];
const DEFAULT_WIDTH = "128";

/** An error with the HTTP status it is answered with. */
class HttpError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** What a key asks for. */
interface Thumbnail {
  file: string;
  width: number;
  /** Absent: the image's own format. */
  format?: Format;
}

/**
 * The one check of a key: a plain image file name (no path, no leading dot),
 * a width, an optional output format. Throws a 400 that echoes only the key.
 */
function parseKey(key: string): Thumbnail {
  const q = key.indexOf("?");
  const file = q < 0 ? key : key.slice(0, q);
  checkFile(file);
  const m = /^w=([^&]*)(?:&fmt=(.*))?$/.exec(key.slice(file.length + 1));
  if (q < 0 || m === null) {
    throw new HttpError(
      400,
      `bad key ${JSON.stringify(key)}: want <file>?w=<width>[&fmt=<format>]`,
    );
  }
  const width = Number(m[1]);
  if (!(WIDTHS as readonly number[]).includes(width) || m[1] !== `${width}`) {
    throw new HttpError(
      400,
      `bad width ${JSON.stringify(m[1])}: keys take ${WIDTHS.join(", ")}`,
    );
  }
  const format = m[2];
  if (format !== undefined && !Object.hasOwn(OUTPUTS, format)) {
    throw new HttpError(
      400,
      `bad format ${JSON.stringify(format)}: ?fmt= takes ${
        Object.keys(OUTPUTS).join(", ")
      }`,
    );
  }
  return { file, width, format: format as Format | undefined };
}

/** `?w=` (1 to 4096) rounded up to one of `WIDTHS`; else a 400. */
function roundWidth(asked: string): number {
  const width = Number(asked);
  if (!/^[1-9][0-9]{0,3}$/.test(asked) || width > MAX_WIDTH) {
    throw new HttpError(
      400,
      `bad width ${JSON.stringify(asked)}: ?w= takes 1 to ${MAX_WIDTH}`,
    );
  }
  return WIDTHS.find((w) => w >= width)!;
}

/** A plain image file name: no path, no leading dot, a known extension. */
function checkFile(file: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(file)) {
    throw new HttpError(
      400,
      `bad file name ${
        JSON.stringify(file)
      }: a plain file name is expected (letters, digits, "_", "-", ".")`,
    );
  }
  const ext = file.slice(file.lastIndexOf(".") + 1).toLowerCase();
  if (!INPUTS.has(ext)) {
    throw new HttpError(
      400,
      `bad file name ${JSON.stringify(file)}: not one of .${
        [...INPUTS.keys()].join(" .")
      }`,
    );
  }
}

/** The raw path of a request, still percent-encoded, without the query. */
function rawPath(req: Request): string {
  const path = req.url.slice(req.url.indexOf("/", req.url.indexOf("//") + 2));
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

/**
 * The peer route's check: a key for the `thumbnails` group passes
 * {@linkcode parseKey} before the pool loads it. `rest` is the raw path after
 * the pool's base path, `{group}/{key}`, decoded here as the pool decodes it
 * (`+` is a space); what does not decode is the pool's 400 to answer.
 */
function checkPeerRequest(rest: string): void {
  const slash = rest.indexOf("/");
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part.replaceAll("+", " "));
    } catch {
      return undefined;
    }
  };
  if (slash < 0 || decode(rest.slice(0, slash)) !== "thumbnails") return;
  const key = decode(rest.slice(slash + 1));
  // "": a batch (POST), its keys checked one by one by the getter.
  if (key !== undefined && key !== "") parseKey(key);
}

/** The format of encoded image bytes, from their first bytes. */
function formatOf(bytes: Uint8Array): Format | undefined {
  const ascii = (from: number, to: number) =>
    String.fromCharCode(...bytes.subarray(from, to));
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "jpeg";
  if (ascii(1, 4) === "PNG") return "png";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  if (ascii(0, 4) === "GIF8") return "gif";
  if (ascii(4, 12) === "ftypavif") return "avif";
  return undefined;
}

/**
 * The most pixels an input may have (24 MP, a 6000×4000 photo): sharp
 * refuses a larger one from its header, before decoding, so a small file
 * that claims 16,000×16,000 (a decompression bomb) costs nothing.
 */
const MAX_INPUT_PIXELS = 24_000_000;
/** The most images decoded at once: each holds its pixels while it runs. */
const MAX_DECODES = 2;
let decoding = 0;
const waitingToDecode: (() => void)[] = [];

/** Runs `decode` once fewer than MAX_DECODES others run. */
async function boundedDecode<T>(decode: () => Promise<T>): Promise<T> {
  if (decoding >= MAX_DECODES) {
    await new Promise<void>((resolve) => waitingToDecode.push(resolve));
  } else decoding++;
  try {
    return await decode();
  } finally {
    // The slot passes to the next in line, or is freed.
    const next = waitingToDecode.shift();
    if (next !== undefined) next();
    else decoding--;
  }
}

/** Scales `input` to `width` (never up) and encodes it as `format`. */
async function makeThumbnail(
  name: string,
  input: Uint8Array,
  width: number,
  format: Format | undefined,
): Promise<Uint8Array> {
  const inputFormat = formatOf(input);
  if (inputFormat === undefined) {
    throw new HttpError(
      415,
      `${name} is not a JPEG, PNG, WebP, GIF or AVIF image`,
    );
  }
  const out = format ?? inputFormat;
  try {
    let image = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS })
      .resize({ width, withoutEnlargement: true });
    if (out === "jpeg") image = image.flatten({ background: "#ffffff" });
    // A plain Uint8Array: sharp's Node Buffer has a slice() that shares
    // memory instead of copying, and a cached value must not be shared.
    const encoded = await boundedDecode(() => image.toFormat(out).toBuffer());
    return new Uint8Array(encoded);
  } catch (err) {
    // sharp read bytes, not a file: its message names no path.
    throw new HttpError(422, `${name} cannot be decoded: ${err}`);
  }
}

function text(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Makes the node: its pool, its group and the handler for all its routes. */
function createNode(self: string, peers: string[], dir: string) {
  const pool = new HttpPool(self);
  pool.set(...peers); // validates: bad URLs, duplicates, self missing
  const loaded: string[] = []; // keys this node's getter made

  const thumbnails = pool.newGroup("thumbnails", 64 << 20, async (key) => {
    const { file, width, format } = parseKey(key);
    let input: Uint8Array;
    try {
      input = await readFile(join(dir, file));
    } catch (err) {
      // Named by this node's URL, never by its folder.
      const code = (err as { code?: string }).code;
      throw code === "ENOENT" || code === "EISDIR"
        ? new HttpError(404, `no image ${file} on ${self}`)
        : new HttpError(500, `cannot read ${file} on ${self} (${code})`);
    }
    const bytes = await makeThumbnail(file, input, width, format);
    loaded.push(key);
    return bytes;
  });

  const handler = async (req: Request): Promise<Response> => {
    const path = rawPath(req);
    try {
      if (path.startsWith(pool.basePath)) {
        checkPeerRequest(path.slice(pool.basePath.length));
        return await pool.handler(req);
      }
      if (path === "/stats") {
        return Response.json({
          self,
          stats: thumbnails.stats,
          main: thumbnails.cacheStats("main"),
          hot: thumbnails.cacheStats("hot"),
          loaded,
        });
      }
      if (path === "/") return await home();
      if (path === "/gallery") return await gallery(req);
      if (!path.startsWith("/thumbnails/")) {
        return text(404, "not found: try /thumbnails/<file>?w=128");
      }
      return await thumbnail(req, path.slice("/thumbnails/".length));
    } catch (err) {
      if (err instanceof HttpError) return text(err.status, err.message);
      return text(500, `${(err as Error)?.message ?? err}`);
    }
  };

  const thumbnail = async (req: Request, rawFile: string) => {
    let file: string;
    try {
      file = decodeURIComponent(rawFile);
    } catch {
      throw new HttpError(400, "bad file name: malformed percent-encoding");
    }
    const params = new URL(req.url).searchParams;
    let fmt = params.get("fmt")?.toLowerCase();
    if (fmt === "jpg") fmt = "jpeg";
    const width = roundWidth(params.get("w") ?? DEFAULT_WIDTH);
    const key = `${file}?w=${width}` +
      (fmt === undefined ? "" : `&fmt=${fmt}`);
    parseKey(key);
    const hitsBefore = thumbnails.stats.cacheHits;
    const view = await thumbnails.get(key, req); // req.signal, read on a miss
    return new Response(view.stream(), {
      headers: {
        "content-type": OUTPUTS[formatOf(view.slice(0, 12).toBytes()) ?? "png"],
        "x-groupcache-owner": pool.owner(key) ?? self,
        "x-groupcache-cache": thumbnails.stats.cacheHits > hitsBefore
          ? "hit"
          : "miss",
      },
    });
  };

  const images = async () => {
    let files: string[];
    try {
      files = await readdir(dir);
    } catch {
      throw new HttpError(500, `cannot list the images on ${self}`);
    }
    return files.filter((f) => {
      try {
        return checkFile(f) === undefined;
      } catch {
        return false;
      }
    }).sort();
  };

  const gallery = async (req: Request) => {
    const width = roundWidth(
      new URL(req.url).searchParams.get("w") ?? DEFAULT_WIDTH,
    );
    const files = await images();
    const keys = files.map((f) => `${f}?w=${width}`);
    keys.forEach(parseKey);
    const { values, errors } = await thumbnails.getMany(keys, req);
    const items = files.map((f, i) => {
      const view = values.get(keys[i]);
      if (view === undefined) {
        const why = errors.get(keys[i])!.message.replace(
          /[<>&"]/g,
          (c) => `&#${c.charCodeAt(0)};`,
        );
        return `<li class="error">${f}: ${why}</li>`;
      }
      const bytes = view.toBytes();
      const type = OUTPUTS[formatOf(bytes.subarray(0, 12)) ?? "png"];
      const data = Buffer.from(bytes).toString("base64");
      return `<li><img src="data:${type};base64,${data}" alt="${f}"> ${f}</li>`;
    });
    return new Response(
      `<!doctype html><title>gallery on ${self}</title><ul>${
        items.join("")
      }</ul>`,
      { headers: { "content-type": "text/html; charset=utf-8" } },
    );
  };

  const home = async () => {
    const links = (await images()).map((f) => {
      const at = `/thumbnails/${encodeURIComponent(f)}`;
      return `<li><a href="${at}?w=${MAX_WIDTH}"><img src="${at}?w=${DEFAULT_WIDTH}" alt="${f}"></a> ${f}</li>`;
    });
    return new Response(
      `<!doctype html><title>thumbnails on ${self}</title><h1>thumbnails on ${self}</h1><ul>${
        links.join("")
      }</ul>`,
      { headers: { "content-type": "text/html; charset=utf-8" } },
    );
  };

  return handler;
}

function parseFlags(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
      self: { type: "string" },
      peers: { type: "string" },
      dir: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = Number(values.port);
  if (!/^[0-9]+$/.test(values.port) || port > 65535) {
    throw new Error(
      `--port must be a whole number from 0 to 65535, got ${values.port}`,
    );
  }
  const self = values.self ?? `http://${values.host}:${port}`;
  const peers = values.peers?.split(",").map((p) => p.trim()) ?? [self];
  const dir = values.dir ??
    fileURLToPath(new URL("./images", import.meta.url));
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`--dir ${dir} is not a folder`);
  }
  return { help: values.help, port, host: values.host, self, peers, dir };
}

async function main(): Promise<void> {
  let flags: ReturnType<typeof parseFlags>;
  let handler: ReturnType<typeof createNode>;
  try {
    flags = parseFlags(process.argv.slice(2));
    if (flags.help) {
      console.log(USAGE);
      process.exit(0);
    }
    handler = createNode(flags.self, flags.peers, flags.dir);
  } catch (err) {
    console.error(`thumbnails: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  let served;
  try {
    served = await serve(handler, flags.port, flags.host);
  } catch (err) {
    console.error(
      `thumbnails: cannot listen on ${flags.host}:${flags.port}: ${
        (err as Error).message
      }`,
    );
    process.exit(1);
  }
  closeOnSignals(served);
  console.log(
    `thumbnails node ${flags.self} listening on ${served.url} (${served.runtime}), peers: ${
      flags.peers.join(" ")
    }`,
  );
  console.log(`try ${served.url}/thumbnails/big-file.jpg?w=128`);
}

await main();
