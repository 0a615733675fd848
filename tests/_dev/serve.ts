// Serves a web handler on loopback with the runtime's own server, for the
// tests and benches that put HttpPool.handler behind a real socket:
// Deno.serve under Deno, Bun.serve under Bun (the suites that serve do not
// run under Node).
import { type Runtime, runtimeName } from "./runtimes.ts";

/** A web handler, such as `pool.handler`. */
export type Handler = (req: Request) => Response | Promise<Response>;

/** A listening server. */
export interface Served {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  runtime: Runtime;
  close(): Promise<void>;
}

interface BunServer {
  port: number;
  stop(closeActive?: boolean): Promise<void> | void;
}

/** Serves `handler` on `hostname`:`port` (0: any free port) until `close()`. */
export async function serve(
  handler: Handler,
  port = 0,
  hostname = "127.0.0.1",
): Promise<Served> {
  const runtime = runtimeName();
  const served = (port: number, close: () => Promise<void>): Served => ({
    url: `http://${hostname}:${port}`,
    port,
    runtime,
    close,
  });
  if (runtime === "deno") {
    let server: Deno.HttpServer | undefined;
    const bound = await new Promise<number>((resolve) => {
      const onListen = (addr: { port: number }) => resolve(addr.port);
      server = Deno.serve({ port, hostname, onListen }, handler);
    });
    return served(bound, () => server!.shutdown());
  }
  if (runtime === "bun") {
    const bun = (globalThis as {
      Bun?: { serve(o: object): BunServer };
    }).Bun!;
    const server = bun.serve({ port, hostname, fetch: handler });
    return served(server.port, async () => await server.stop(true));
  }
  throw new Error("tests/_dev/serve.ts serves under Deno or Bun only");
}
