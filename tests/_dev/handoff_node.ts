// A groupcache node in a process of its own for the handoff tests (issue
// 23): one HttpPool sharing --secret, one group "g" whose getter counts its
// runs and answers `${label}:${key}`, served by this runtime's own server.
// Beside the peers it answers the test:
//   GET  /get/KEY   group.get(KEY) as text
//   POST /peers     pool.set(...) of the body's comma-separated URLs
//   POST /close     pool.close(), then the group's stats as JSON
//   GET  /stats     {"stats": group.stats, "runs": getter runs}
// It prints "listening 127.0.0.1:PORT" once bound, and exits when its stdin
// closes (so it never outlives the test that started it), and on SIGTERM.
//
//   deno run -A tests/_dev/handoff_node.ts --port P --peers URL,URL --secret S --label L
//
// startHandoffNode() starts one from a test, with ./proc.ts (killed with
// the test process, on failure too).
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HttpPool, Registry, silentLogger } from "../../mod.ts";
import { root } from "./paths.ts";
import { startServer } from "./proc.ts";
import { runtimeCommand } from "./runtimes.ts";
import { serve } from "./serve.ts";

/** A running handoff node. */
export interface HandoffNode {
  readonly url: string;
  get(key: string): Promise<string>;
  setPeers(peers: string[]): Promise<void>;
  /** pool.close(); resolves with the group's stats once it is done. */
  close(): Promise<Record<string, number>>;
  stats(): Promise<{ stats: Record<string, number>; runs: number }>;
  /** SIGTERM (SIGKILL after a grace); resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts a node process under this runtime; resolves once it listens. */
export async function startHandoffNode(options: {
  port: number;
  peers: string[];
  secret: string;
  label: string;
}): Promise<HandoffNode> {
  const [cmd, args] = runtimeCommand(fileURLToPath(import.meta.url), [
    "--port",
    String(options.port),
    "--peers",
    options.peers.join(","),
    "--secret",
    options.secret,
    "--label",
    options.label,
  ]);
  const server = await startServer(cmd, args, {
    cwd: root,
    name: `handoff node ${options.label} on :${options.port}`,
    timeoutMs: 30_000,
  });
  const url = `http://127.0.0.1:${options.port}`;
  const call = async (path: string, init?: RequestInit) => {
    const res = await fetch(url + path, {
      ...init,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${url}${path}: ${res.status} ${text}`);
    return text;
  };
  return {
    url,
    get: (key) => call(`/get/${encodeURIComponent(key)}`),
    setPeers: async (peers) => {
      await call("/peers", { method: "POST", body: peers.join(",") });
    },
    close: async () => JSON.parse(await call("/close", { method: "POST" })),
    stats: async () => JSON.parse(await call("/stats")),
    stop: () => server.stop(),
  };
}

async function main(args: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0 || args[i + 1] === undefined) {
      throw new Error(`handoff_node.ts needs --${name}`);
    }
    return args[i + 1];
  };
  const port = Number(flag("port"));
  const label = flag("label");
  const pool = new HttpPool(`http://127.0.0.1:${port}`, {
    registry: new Registry(),
    secret: flag("secret"),
    logger: silentLogger,
  });
  pool.set(...flag("peers").split(","));
  let runs = 0;
  const group = pool.newGroup("g", 64 << 20, (key) => {
    runs++;
    return `${label}:${key}`;
  });
  const served = await serve(async (req) => {
    const { pathname } = new URL(req.url);
    if (pathname.startsWith(pool.basePath)) return pool.handler(req);
    if (pathname.startsWith("/get/")) {
      const key = decodeURIComponent(pathname.slice("/get/".length));
      return new Response((await group.get(key)).toString());
    }
    if (pathname === "/peers") {
      pool.set(...(await req.text()).split(","));
      return new Response("ok");
    }
    if (pathname === "/close") {
      await pool.close();
      return Response.json(group.stats);
    }
    if (pathname === "/stats") {
      return Response.json({ stats: group.stats, runs });
    }
    return new Response("not found", { status: 404 });
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
