// A raw HTTP/1.1 GET over node:net that sends the path exactly as given (no
// URL resolution, unlike fetch), for tests of how servers treat odd paths.
import { connect } from "node:net";

/**
 * Sends one raw HTTP/1.1 GET with the path exactly as given (no URL
 * resolution), its characters as single bytes (latin1: "\xff" is the byte
 * 0xFF; write UTF-8 byte by byte), with `host` (default 127.0.0.1:PORT) as
 * the Host header.
 */
export function rawGet(
  port: number,
  path: string,
  host = `127.0.0.1:${port}`,
): Promise<{ status: number; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      const head =
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
      socket.write(Uint8Array.from(head, (c) => c.charCodeAt(0) & 0xff));
    });
    const chunks: Uint8Array[] = [];
    socket.on("data", (c: Uint8Array) => chunks.push(c));
    socket.on("error", reject);
    socket.setTimeout(
      5000,
      () => socket.destroy(new Error(`raw GET ${path} timed out`)),
    );
    socket.on("close", () => {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) {
        all.set(c, o);
        o += c.length;
      }
      const text = new TextDecoder("latin1").decode(all);
      const headEnd = text.indexOf("\r\n\r\n");
      const status = Number(text.slice(9, 12));
      const head = text.slice(0, headEnd).toLowerCase();
      let body: Uint8Array = all.subarray(headEnd + 4);
      if (head.includes("transfer-encoding: chunked")) body = dechunk(body);
      resolve({ status, body });
    });
  });
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
