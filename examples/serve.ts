/**
 * Serves a web handler (such as `pool.handler`, or a Hono app's `fetch`) with
 * the runtime's own server: `Deno.serve` under Deno, `Bun.serve` under Bun,
 * and on Node the maintained adapter `@hono/node-server`. The examples share
 * it; nothing else in them depends on the runtime.
 * @module
 */
import process from "node:process";

/** A web handler: what all three servers call. */
export type Handler = (req: Request) => Response | Promise<Response>;

/** A listening server. */
export interface Served {
  /** `http://HOST:PORT`, with the port actually bound. */
  url: string;
  runtime: "deno" | "bun" | "node";
  close(): Promise<void>;
}

interface BunServer {
  port: number;
  stop(closeActive?: boolean): Promise<void> | void;
}

/** Listens on `hostname:port` (port 0 picks a free one). */
export async function serve(
  handler: Handler,
  port: number,
  hostname: string,
): Promise<Served> {
  const g = globalThis as { Bun?: { serve(o: object): BunServer } };
  if (g.Bun !== undefined) {
    const server = g.Bun.serve({ port, hostname, fetch: handler });
    return {
      url: `http://${hostname}:${server.port}`,
      runtime: "bun",
      close: async () => await server.stop(true),
    };
  }
  if ("Deno" in globalThis) {
    const server = Deno.serve({ port, hostname, onListen() {} }, handler);
    return {
      url: `http://${hostname}:${server.addr.port}`,
      runtime: "deno",
      close: () => server.shutdown(),
    };
  }
  // Node: the fetch-to-node:http adapter Hono maintains (npm
  // @hono/node-server); loaded here only, so Deno and Bun never read it.
  const { serve } = await import("@hono/node-server");
  return await new Promise((resolve, reject) => {
    const server = serve({ fetch: handler, port, hostname }, (info) =>
      resolve({
        url: `http://${hostname}:${info.port}`,
        runtime: "node",
        close: () =>
          new Promise((done) => {
            if ("closeAllConnections" in server) server.closeAllConnections();
            server.close(() => done());
          }),
      }));
    server.once("error", reject);
  });
}

/** Closes `served` on SIGINT and SIGTERM, then exits. */
export function closeOnSignals(served: Served): void {
  const stop = async () => {
    await served.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
