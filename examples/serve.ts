/**
 * Serves a web handler on 127.0.0.1 with the runtime's own server:
 * `Deno.serve` under Deno, `Bun.serve` under Bun, node:http under Node.
 * The examples and the tests share it.
 * @module
 */
import { listen } from "./node_server.ts";

export type Handler = (req: Request) => Response | Promise<Response>;

export interface Served {
  url: string;
  port: number;
  runtime: "deno" | "bun" | "node";
  close(): Promise<void>;
}

interface BunLike {
  serve(options: { port: number; hostname: string; fetch: Handler }): {
    port: number;
    stop(closeActive?: boolean): Promise<void> | void;
  };
}

export function runtimeName(): "deno" | "bun" | "node" {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
}

export function serve(
  handler: Handler,
  port = 0,
  hostname = "127.0.0.1",
): Promise<Served> {
  const runtime = runtimeName();
  if (runtime === "deno") {
    return new Promise((resolve) => {
      const server = Deno.serve({
        port,
        hostname,
        onListen: ({ port }) =>
          resolve({
            url: `http://${hostname}:${port}`,
            port,
            runtime,
            close: async () => {
              await server.shutdown();
            },
          }),
      }, handler);
    });
  }
  if (runtime === "bun") {
    const bun = (globalThis as unknown as { Bun: BunLike }).Bun;
    const server = bun.serve({ port, hostname, fetch: handler });
    return Promise.resolve({
      url: `http://${hostname}:${server.port}`,
      port: server.port,
      runtime,
      close: async () => {
        await server.stop(true);
      },
    });
  }
  return serveNode(handler, port, hostname);
}

async function serveNode(
  handler: Handler,
  port: number,
  hostname: string,
): Promise<Served> {
  const { server, port: bound } = await listen(handler, port, hostname);
  return {
    url: `http://${hostname}:${bound}`,
    port: bound,
    runtime: "node",
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
