// Raw HTTP/1.1 requests over node:net that send the target and headers
// exactly as given (no URL resolution, unlike fetch), for tests of how
// servers treat odd paths and headers.
import { connect } from "node:net";

/** What a raw request got back. */
export interface RawAnswer {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** De-chunked when the answer was chunked. */
  body: Uint8Array;
}

/**
 * Sends one raw HTTP/1.1 request on a connection of its own, the target's
 * characters as single bytes (latin1: "\xff" is the byte 0xFF; write UTF-8
 * byte by byte), with `host: 127.0.0.1:PORT` unless `headers` has a `host`.
 */
export function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: Uint8Array,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      const lines = [`${method} ${target} HTTP/1.1`, "connection: close"];
      if (!("host" in headers)) lines.push(`host: 127.0.0.1:${port}`);
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      if (body) lines.push(`content-length: ${body.length}`);
      const head = lines.join("\r\n") + "\r\n\r\n";
      socket.write(Uint8Array.from(head, (c) => c.charCodeAt(0) & 0xff));
      if (body) socket.write(body);
    });
    const chunks: Uint8Array[] = [];
    socket.on("data", (c: Uint8Array) => chunks.push(c));
    socket.on("error", reject);
    socket.setTimeout(
      5000,
      () => socket.destroy(new Error(`raw ${method} ${target} timed out`)),
    );
    socket.on("close", () => {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) {
        all.set(c, o);
        o += c.length;
      }
      const text = new TextDecoder("latin1").decode(all);
      const end = text.indexOf("\r\n\r\n");
      const [status, ...lines] = text.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1)
          .trim();
      }
      let body: Uint8Array = all.subarray(end + 4);
      if (headers["transfer-encoding"] === "chunked") body = dechunk(body);
      resolve({ status: Number(status.slice(9, 12)), headers, body });
    });
  });
}

/**
 * Sends one raw HTTP/1.1 GET with the path exactly as given (see
 * {@linkcode rawRequest}), with `host` as the Host header.
 */
export async function rawGet(
  port: number,
  path: string,
  host = `127.0.0.1:${port}`,
): Promise<{ status: number; body: Uint8Array }> {
  const { status, body } = await rawRequest(port, "GET", path, { host });
  return { status, body };
}

function dechunk(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  for (;;) {
    let line = "";
    while (!(data[i] === 13 && data[i + 1] === 10)) {
      line += String.fromCharCode(data[i++]);
    }
    i += 2;
    const size = parseInt(line, 16);
    if (!size) break;
    for (let j = 0; j < size; j++) out.push(data[i + j]);
    i += size + 2;
  }
  return new Uint8Array(out);
}
