/**
 * Node ≥ 20: serve `pool.handler` with node:http. The library itself needs
 * nothing from Node (fetch, Request and Response are global there); only the
 * server is runtime-specific, and this is the whole adapter.
 *
 * Run a two-node cluster (Node 20 runs JavaScript, so bundle first):
 *
 * ```sh
 * npx bun build examples/node_server.ts --target=node --outfile=node_server.mjs
 * node node_server.mjs --port 9001 --peers http://127.0.0.1:9001,http://127.0.0.1:9002 &
 * node node_server.mjs --port 9002 --peers http://127.0.0.1:9001,http://127.0.0.1:9002 &
 * curl 'http://127.0.0.1:9001/get?key=ada'   # same answer from either node
 * ```
 *
 * With Node ≥ 23.6 (type stripping) run the .ts file directly.
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Group, HttpPool } from "../mod.ts";

/** A web handler, such as `pool.handler`. */
export type WebHandler = (req: Request) => Response | Promise<Response>;

/** Adapts a web handler to a node:http request listener. */
export function toNodeListener(handler: WebHandler) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const controller = new AbortController();
    res.on("close", () => controller.abort()); // the client went away
    try {
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const request = new Request(
        `http://${req.headers.host ?? "localhost"}${req.url}`,
        {
          method: req.method,
          headers: Object.entries(req.headers).flatMap(([k, v]) =>
            v === undefined
              ? []
              : Array.isArray(v)
              ? v.map((x): [string, string] => [k, x])
              : [[k, v]]
          ),
          signal: controller.signal,
          ...(hasBody
            ? { body: req as unknown as ReadableStream, duplex: "half" }
            : {}),
        },
      );
      const response = await handler(request);
      res.writeHead(response.status, [...response.headers].flat());
      if (response.body === null || req.method === "HEAD") {
        res.end();
        return;
      }
      for await (const chunk of response.body) res.write(chunk);
      res.end();
    } catch (err) {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
      }
      res.end(`internal error: ${(err as Error)?.message ?? err}\n`);
    }
  };
}

/** Listens on 127.0.0.1:`port` (0 picks one) and resolves with the server and its port. */
export function listen(
  handler: WebHandler,
  port: number,
  hostname = "127.0.0.1",
): Promise<{ server: Server; port: number }> {
  const server = createServer(toNodeListener(handler));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(
      port,
      hostname,
      () => resolve({ server, port: (server.address() as AddressInfo).port }),
    );
  });
}

async function main(args: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const port = Number(flag("port") ?? 9001);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`--port must be 1..65535, got ${flag("port")}`);
    process.exit(2);
  }
  const self = `http://127.0.0.1:${port}`;
  const pool = new HttpPool(self);
  pool.set(...(flag("peers")?.split(",") ?? [self]));
  const greetings = new Group("greetings", 1 << 20, (key, dest) => {
    dest.setString(`hello ${key}, loaded by ${self}`);
  }, { peers: pool });

  const app: WebHandler = async (req) => {
    const url = new URL(req.url);
    if (url.pathname.startsWith(pool.basePath)) return pool.handler(req);
    if (url.pathname === "/get") {
      const key = url.searchParams.get("key") ?? "";
      const view = await greetings.get(key);
      return new Response(view.stream(), {
        headers: { "x-owner": pool.owner(key) ?? self },
      });
    }
    if (url.pathname === "/stats") return Response.json(greetings.stats);
    return new Response("try /get?key=ada\n", { status: 404 });
  };
  await listen(app, port);
  console.log(`listening ${self}`);
  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === process.argv[1]
) {
  await main(process.argv.slice(2));
}
