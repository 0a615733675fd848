// A groupcache node in a process of its own, for tests that stop it
// (SIGSTOP) or need it silent: one HttpPool and its Groups (names given
// comma-separated), whose getters answer `${label}:${key}`, served by this
// runtime's own server (Deno.serve or Bun.serve, see ./serve.ts). With
// --status it also serves statusPage(pool) at /status and group.get(KEY) at
// /get/GROUP/KEY, for tests that watch it or put load on it. It prints
// "listening 127.0.0.1:PORT" once bound, exits when its stdin closes (so it
// never outlives the test that started it), and on SIGTERM.
//
//   deno run -A tests/_dev/peer_node.ts --port P --peers URL,URL --group G[,G2] --label B [--timeout-ms MS] [--status] [--writes open] [--server node]
//
// startPeerNode() starts one from a test, with ./proc.ts (killed with the
// test process, on failure too).
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  Group,
  HttpPool,
  Registry,
  silentLogger,
  statusPage,
} from "../../mod.ts";
import { root } from "./paths.ts";
import { type Server, startServer } from "./proc.ts";
import { runtimeCommand } from "./runtimes.ts";
import { serve } from "./serve.ts";
import { nodeListener } from "../../node.ts";
import { serveNode } from "./node_serve.ts";

/** How to start one node process. */
export interface PeerNodeOptions {
  port: number;
  /** The peer list, this node's own http://127.0.0.1:PORT included. */
  peers: string[];
  /** The group's name, or several, comma-separated. */
  group: string;
  /** The getter's prefix: values are `${label}:${key}`. */
  label: string;
  /** The pool's peer fetch timeout (default the pool's, 10 s). */
  timeoutMs?: number;
  /** Serve /status and /get/GROUP/KEY too (and log nothing). */
  status?: boolean;
  /** Accept peers' set and remove unsigned (the pool's `writes: "open"`). */
  openWrites?: boolean;
  /** Serve with nodeListener on node:http instead of the runtime's server. */
  nodeListener?: boolean;
  /** Pad each value with "." to this many bytes (default: no padding). */
  valueBytes?: number;
}

/** A running node process. */
export interface PeerNode {
  readonly url: string;
  /** Where its status page is (with `status: true`). */
  readonly statusUrl: string;
  /** The process id (to read its memory in /proc). */
  readonly pid: number;
  /** SIGSTOP: the kernel still accepts connections, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGTERM (SIGKILL after a grace); resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts a node process under this runtime; resolves once it listens. */
export async function startPeerNode(
  options: PeerNodeOptions,
): Promise<PeerNode> {
  const [cmd, args] = runtimeCommand(fileURLToPath(import.meta.url), [
    "--port",
    String(options.port),
    "--peers",
    options.peers.join(","),
    "--group",
    options.group,
    "--label",
    options.label,
    ...(options.timeoutMs === undefined
      ? []
      : ["--timeout-ms", String(options.timeoutMs)]),
    ...(options.status ? ["--status"] : []),
    ...(options.openWrites ? ["--writes", "open"] : []),
    ...(options.nodeListener ? ["--server", "node"] : []),
    ...(options.valueBytes === undefined
      ? []
      : ["--value-bytes", String(options.valueBytes)]),
  ]);
  const server: Server = await startServer(cmd, args, {
    cwd: root,
    name: `peer node ${options.label} on :${options.port}`,
    timeoutMs: 30_000,
  });
  const url = `http://127.0.0.1:${options.port}`;
  return {
    url,
    statusUrl: `${url}/status`,
    pid: server.pid,
    pause: server.pause,
    resume: server.resume,
    stop: () => server.stop(),
  };
}

async function main(args: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0 || args[i + 1] === undefined) {
      throw new Error(`peer_node.ts needs --${name}`);
    }
    return args[i + 1];
  };
  const port = Number(flag("port"));
  const label = flag("label");
  const self = `http://127.0.0.1:${port}`;
  const withStatus = args.includes("--status");
  const valueBytes = args.includes("--value-bytes")
    ? Number(flag("value-bytes"))
    : 0;
  const timeoutMs = args.includes("--timeout-ms")
    ? Number(flag("timeout-ms"))
    : undefined;
  const pool = new HttpPool(self, {
    registry: new Registry(),
    timeoutMs,
    writes: args.includes("--writes") ? "open" : undefined,
    ...(withStatus ? { logger: silentLogger } : {}),
  });
  pool.set(...flag("peers").split(","));
  for (const name of flag("group").split(",")) {
    new Group(
      name,
      64 << 20,
      (key) => `${label}:${key}`.padEnd(valueBytes, "."),
      {
        peers: pool,
      },
    );
  }
  const status = withStatus ? statusPage(pool) : undefined;
  const handler = status
    ? (req: Request) => statusRoutes(pool, status, req)
    : pool.handler;
  const served = args.includes("--server")
    ? await serveNode(nodeListener(pool), port)
    : await serve(handler, port);
  console.log(`listening 127.0.0.1:${served.port}`);
  const exit = () => process.exit(0);
  process.stdin.on("end", exit);
  process.stdin.on("close", exit);
  process.stdin.resume();
  process.on("SIGTERM", exit);
}

/** /status, /get/GROUP/KEY, else the peers. */
async function statusRoutes(
  pool: HttpPool,
  status: (req: Request) => Response,
  req: Request,
): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (path === "/status") return status(req);
  const get = /^\/get\/([^/]+)\/(.+)$/.exec(path);
  if (get === null) return pool.handler(req);
  const group = pool.registry.get(decodeURIComponent(get[1]));
  if (group === undefined) return new Response("no group", { status: 404 });
  return new Response((await group.get(decodeURIComponent(get[2]))).toString());
}

if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === process.argv[1]
) {
  await main(process.argv.slice(2));
}
