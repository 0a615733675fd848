// A hostile peer on a real socket (node:net, in this process), driven by the
// key it is asked for: the part of the key before the first ":" picks what it
// does. Everything it answers is written byte by byte, so no server library
// tidies it up.
//
//   hang:…          reads the request, never answers
//   drip:…          a 200 header promising 100 bytes, then one byte a second
//   reset:…         a 200 header promising 1,000 bytes, 10 bytes, then a TCP reset
//   short:…         a 200 header promising 1,000 bytes, 10 bytes, then a clean close
//   bomb:…          a gzip bomb (1 MiB inflating to 1 GiB) with a Content-Length
//   bomb-chunked:…  the same bomb, chunked (no Content-Length)
//   redirect:…      a 307 to /elsewhere on this server (which counts its hits)
//   html:…          a valid GetResponse sent as text/html
//   untyped-empty:… a 200 with an empty body and no Content-Type
//   empty:…         a 200 with an empty body as application/x-protobuf (valid:
//                   what Go sends for an empty value)
//   endless-500:…   a 500 whose chunked body never ends
//   smuggle:…       a 200 with Content-Length: 10 and a chunked body that never
//                   ends (Transfer-Encoding wins; Deno and Bun read past 10)
//   anything else   a valid GetResponse of `peer:${key}`
//
// GET {basePath} (a probe) gets a 400, as from Go or our handler.
//
// Run alone, it measures what a gzip bomb costs a node that asks for it:
//
//   deno run -A tests/_dev/hostile_peer.ts
//   bun tests/_dev/hostile_peer.ts
import { createServer, type Socket } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { constants, deflateRawSync } from "node:zlib";
import {
  encodeGetResponse,
  Group,
  HttpPool,
  type HttpPoolOptions,
  type PeerError,
  Registry,
} from "../../mod.ts";
import { runtimeName } from "./runtimes.ts";

/** A running hostile peer. */
export interface HostilePeer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Keys asked for, decoded, in order (probes not included). */
  readonly asked: string[];
  /** Requests for /elsewhere (where the redirects point). */
  readonly elsewhere: number;
  /** Closes every connection and the listener. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const latin1 = (text: string) =>
  Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

// CRC-32 of 2^30 zero bytes: the gzip trailer of the bomb (computing it takes
// longer than building the bomb).
const CRC_OF_1_GIB_OF_ZEROS = 0x5b64c2b0;

/**
 * A gzip member of 1 MiB that inflates to 1 GiB of zeros: one 1 MiB block
 * deflated with a full flush (so it is byte-aligned and refers to nothing
 * before it), repeated 1,024 times, then a final empty block and the trailer.
 */
export function gzipBomb(): Uint8Array {
  const block = deflateRawSync(new Uint8Array(1 << 20), {
    level: 9,
    finishFlush: constants.Z_FULL_FLUSH,
  });
  const header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
  const trailer = new Uint8Array(10);
  trailer.set([0x03, 0x00]); // a final, empty fixed-Huffman block
  const view = new DataView(trailer.buffer);
  view.setUint32(2, CRC_OF_1_GIB_OF_ZEROS, true);
  view.setUint32(6, 2 ** 30 % 2 ** 32, true);
  const out = new Uint8Array(header.length + block.length * 1024 + 10);
  out.set(header);
  for (let i = 0; i < 1024; i++) {
    out.set(block, header.length + i * block.length);
  }
  out.set(trailer, out.length - 10);
  return out;
}

/** Starts a hostile peer on 127.0.0.1 (any free port) serving under `basePath`. */
export async function startHostilePeer(
  basePath = "/_groupcache/",
): Promise<HostilePeer> {
  const bomb = gzipBomb();
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  const asked: string[] = [];
  let elsewhere = 0;
  let port = 0;

  const head = (status: string, headers: string[]) =>
    latin1(`HTTP/1.1 ${status}\r\n${headers.join("\r\n")}\r\n\r\n`);
  const protobuf = "content-type: application/x-protobuf";

  function answer(socket: Socket, path: string): void {
    if (path === "/elsewhere") {
      elsewhere++;
      const body = encodeGetResponse(encoder.encode("from elsewhere"));
      socket.write(
        head("200 OK", [protobuf, `content-length: ${body.length}`]),
      );
      socket.end(body);
      return;
    }
    if (!path.startsWith(basePath)) {
      socket.end(head("404 Not Found", ["content-length: 0"]));
      return;
    }
    const rest = path.slice(basePath.length);
    const slash = rest.indexOf("/");
    if (slash < 0) {
      socket.write(head("400 Bad Request", ["content-length: 12"]));
      socket.end("bad request\n");
      return;
    }
    const key = decodeURIComponent(rest.slice(slash + 1));
    asked.push(key);
    const kind = key.slice(0, key.indexOf(":") + 1);
    switch (kind) {
      case "hang:":
        return;
      case "drip:": {
        socket.write(head("200 OK", [protobuf, "content-length: 100"]));
        const timer = setInterval(() => socket.write(new Uint8Array(1)), 1000);
        timers.add(timer);
        socket.once("close", () => {
          clearInterval(timer);
          timers.delete(timer);
        });
        return;
      }
      case "reset:":
      case "short:": {
        socket.write(head("200 OK", [protobuf, "content-length: 1000"]));
        socket.write(new Uint8Array([0x0a, 8, 1, 2, 3, 4, 5, 6, 7, 8]));
        setTimeout(() => {
          if (kind === "reset:") socket.resetAndDestroy();
          else socket.end();
        }, 20);
        return;
      }
      case "bomb:":
        socket.write(head("200 OK", [
          protobuf,
          "content-encoding: gzip",
          `content-length: ${bomb.length}`,
        ]));
        socket.end(bomb);
        return;
      case "bomb-chunked:":
        socket.write(head("200 OK", [
          protobuf,
          "content-encoding: gzip",
          "transfer-encoding: chunked",
        ]));
        socket.write(latin1(bomb.length.toString(16) + "\r\n"));
        socket.write(bomb);
        socket.end(latin1("\r\n0\r\n\r\n"));
        return;
      case "redirect:":
        socket.end(head("307 Temporary Redirect", [
          `location: http://127.0.0.1:${port}/elsewhere`,
          "content-length: 0",
        ]));
        return;
      case "html:": {
        const body = encodeGetResponse(encoder.encode("<p>not a value</p>"));
        socket.write(head("200 OK", [
          "content-type: text/html",
          `content-length: ${body.length}`,
        ]));
        socket.end(body);
        return;
      }
      case "untyped-empty:":
        socket.end(head("200 OK", ["content-length: 0"]));
        return;
      case "empty:":
        socket.end(head("200 OK", [protobuf, "content-length: 0"]));
        return;
      case "endless-500:":
        socket.write(head("500 Internal Server Error", [
          "content-type: text/plain",
          "transfer-encoding: chunked",
        ]));
        return endless(socket);
      case "smuggle:":
        socket.write(head("200 OK", [
          protobuf,
          "content-length: 10",
          "transfer-encoding: chunked",
        ]));
        return endless(socket);
      default: {
        const body = encodeGetResponse(encoder.encode(`peer:${key}`));
        socket.write(
          head("200 OK", [protobuf, `content-length: ${body.length}`]),
        );
        socket.end(body);
      }
    }
  }

  /** Chunks of 16 KiB, as fast as the client reads, until it goes. */
  function endless(socket: Socket): void {
    const chunk = latin1(`4000\r\n${"x".repeat(0x4000)}\r\n`);
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk));
    };
    socket.on("drain", pump);
    pump();
  }

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let request = "";
    const onData = (data: Uint8Array) => {
      request += String.fromCharCode(...data);
      if (!request.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      const path = request.slice(0, request.indexOf("\r\n")).split(" ")[1];
      answer(socket, path);
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    asked,
    get elsewhere() {
      return elsewhere;
    },
    close() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** What asking a hostile peer for one key cost. */
export interface AskCost {
  /** Peak growth of this process's resident memory, in MiB. */
  grewMiB: number;
  /** From the get to its (local) value, in ms. */
  ms: number;
  /** The peer error the group reported. */
  error: PeerError | undefined;
  /** The pool's maxResponseBytes, in MiB. */
  maxResponseMiB: number;
}

/** The keys that send more than a node may hold. */
export type Flood = "bomb:" | "bomb-chunked:" | "smuggle:";

/**
 * Asks `peer` for a key of `kind` through a fresh node (default options, or
 * those given), sampling this process's resident memory every 2 ms until
 * 100 ms after the value came (a runtime may still read or inflate in the
 * background).
 */
export async function askMeasured(
  peer: HostilePeer,
  kind: Flood,
  options: HttpPoolOptions = {},
): Promise<AskCost> {
  const self = "http://127.0.0.1:9"; // only asks
  const pool = new HttpPool(self, { registry: new Registry(), ...options });
  pool.set(self, peer.url);
  let error: PeerError | undefined;
  const group = new Group("g", 1 << 20, (key) => key, {
    peers: pool,
    onPeerError: (e) => error ??= e as PeerError,
  });
  let key = "";
  for (let i = 0; key === ""; i++) {
    if (pool.owner(`${kind}${i}`) === peer.url) key = `${kind}${i}`;
  }
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = () => peak = Math.max(peak, process.memoryUsage().rss);
  const timer = setInterval(sample, 2);
  const t0 = performance.now();
  let ms: number;
  try {
    await group.get(key);
    ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    clearInterval(timer);
  }
  sample();
  return {
    grewMiB: (peak - before) / (1 << 20),
    ms,
    error,
    maxResponseMiB: pool.maxResponseBytes / (1 << 20),
  };
}

// Run as a script (in a bundle, import.meta.url is the bundle's: not then).
if (
  process.argv[1] !== undefined &&
  import.meta.url.endsWith("/hostile_peer.ts") &&
  fileURLToPath(import.meta.url) === process.argv[1]
) {
  const peer = await startHostilePeer();
  const what: Record<Flood, string> = {
    "bomb:": "gzip bomb (1 MiB -> 1 GiB) with Content-Length",
    "bomb-chunked:": "gzip bomb (1 MiB -> 1 GiB), chunked",
    "smuggle:": "endless chunked body under Content-Length: 10",
  };
  try {
    for (const kind of Object.keys(what) as Flood[]) {
      const cost = await askMeasured(peer, kind);
      console.log(
        `${runtimeName()}: ${what[kind]}: grew ${
          cost.grewMiB.toFixed(1)
        } MiB (limit ${cost.maxResponseMiB + 16} MiB), local value after ${
          cost.ms.toFixed(0)
        } ms, ${cost.error?.reason ?? "no error"}`,
      );
    }
  } finally {
    await peer.close();
  }
  process.exit(0);
}
