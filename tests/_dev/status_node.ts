// A node with its status page, in a process of its own, for the status
// tests (the inspector, the browser): one HttpPool and the groups named,
// each getter answering `${group}:${key}` after a few milliseconds; served
// by this runtime's own server (./serve.ts) with three routes:
//
//   /_groupcache/...   the peers (pool.handler)
//   /status            statusPage(pool)
//   /get/GROUP/KEY     group.get(KEY), for tests that put load on the node
//
// It prints "listening 127.0.0.1:PORT" once bound, exits when its stdin
// closes, and on SIGTERM.
//
//   deno run -A tests/_dev/status_node.ts --port P --peers URL,URL [--groups a,b] [--timeout-ms 1000]
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HttpPool, Registry, silentLogger, statusPage } from "../../mod.ts";
import { root } from "./paths.ts";
import { type Server, startServer } from "./proc.ts";
import { runtimeCommand } from "./runtimes.ts";
import { serve } from "./serve.ts";

/** How to start one node. */
export interface StatusNodeOptions {
  port: number;
  /** The peer list, this node's own http://127.0.0.1:PORT included. */
  peers: string[];
  /** Group names (default users, thumbnails, sessions). */
  groups?: string[];
  /** The pool's peer fetch timeout (default 1,000 ms: a stopped peer is marked down fast). */
  timeoutMs?: number;
}

/** A running node: its base URL, its status page URL, its process. */
export interface StatusNode {
  readonly url: string;
  readonly statusUrl: string;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Starts a node process under this runtime; resolves once it listens. */
export async function startStatusNode(
  options: StatusNodeOptions,
): Promise<StatusNode> {
  const [cmd, args] = runtimeCommand(fileURLToPath(import.meta.url), [
    "--port",
    String(options.port),
    "--peers",
    options.peers.join(","),
    "--groups",
    (options.groups ?? ["users", "thumbnails", "sessions"]).join(","),
    "--timeout-ms",
    String(options.timeoutMs ?? 1_000),
  ]);
  const server: Server = await startServer(cmd, args, {
    cwd: root,
    name: `status node on :${options.port}`,
    timeoutMs: 30_000,
  });
  const url = `http://127.0.0.1:${options.port}`;
  return {
    url,
    statusUrl: `${url}/status`,
    pause: server.pause,
    resume: server.resume,
    stop: () => server.stop(),
  };
}

async function main(args: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0 || args[i + 1] === undefined) {
      throw new Error(`status_node.ts needs --${name}`);
    }
    return args[i + 1];
  };
  const port = Number(flag("port"));
  const self = `http://127.0.0.1:${port}`;
  const pool = new HttpPool(self, {
    registry: new Registry(),
    timeoutMs: Number(flag("timeout-ms")),
    logger: silentLogger,
  });
  pool.set(...flag("peers").split(","));
  for (const name of flag("groups").split(",")) {
    pool.newGroup(name, 8 << 20, async (key) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      return `${name}:${key}`;
    });
  }
  const status = statusPage(pool);
  const served = await serve(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/status") return status(req);
    const get = /^\/get\/([^/]+)\/(.+)$/.exec(path);
    if (get !== null) {
      const group = pool.registry.get(decodeURIComponent(get[1]));
      if (group === undefined) return new Response("no group", { status: 404 });
      const view = await group.get(decodeURIComponent(get[2]));
      return new Response(view.toString());
    }
    return pool.handler(req);
  }, port);
  console.log(`listening 127.0.0.1:${served.port}`);
  const exit = () => process.exit(0);
  process.stdin.on("end", exit);
  process.stdin.on("close", exit);
  process.stdin.resume();
  process.on("SIGTERM", exit);
}

if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === process.argv[1]
) {
  await main(process.argv.slice(2));
}
