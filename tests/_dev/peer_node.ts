// A groupcache node in a process of its own, for tests that stop it
// (SIGSTOP) or need it silent: one HttpPool and one Group whose getter
// answers `${label}:${key}`, served by this runtime's own server (Deno.serve
// or Bun.serve, see ./serve.ts). It prints "listening 127.0.0.1:PORT" once
// bound, exits when its stdin closes (so it never outlives the test that
// started it), and on SIGTERM.
//
//   deno run -A tests/_dev/peer_node.ts --port P --peers URL,URL --group G --label B
//
// startPeerNode() starts one from a test, with ./proc.ts (killed with the
// test process, on failure too).
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Group, HttpPool, Registry } from "../../mod.ts";
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
  group: string;
  /** The getter's prefix: values are `${label}:${key}`. */
  label: string;
  /** Accept peers' set and remove unsigned (the pool's `writes: "open"`). */
  openWrites?: boolean;
  /** Serve with nodeListener on node:http instead of the runtime's server. */
  nodeListener?: boolean;
}

/** A running node process. */
export interface PeerNode {
  readonly url: string;
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
    ...(options.openWrites ? ["--writes", "open"] : []),
    ...(options.nodeListener ? ["--server", "node"] : []),
  ]);
  const server: Server = await startServer(cmd, args, {
    cwd: root,
    name: `peer node ${options.label} on :${options.port}`,
    timeoutMs: 30_000,
  });
  return {
    url: `http://127.0.0.1:${options.port}`,
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
  const open = args.includes("--writes");
  const pool = new HttpPool(self, {
    registry: new Registry(),
    writes: open ? "open" : undefined,
  });
  pool.set(...flag("peers").split(","));
  new Group(flag("group"), 64 << 20, (key) => `${label}:${key}`, {
    peers: pool,
  });
  const served = args.includes("--server")
    ? await serveNode(nodeListener(pool), port)
    : await serve(pool.handler, port);
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
