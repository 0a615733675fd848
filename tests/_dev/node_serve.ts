// Serves a node:http request listener on loopback (Deno, Bun and Node all
// have node:http), for the tests and benches of @x/groupcache/node.
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";

/** A listening node:http server. */
export interface NodeServed {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** Serves `listener` on 127.0.0.1:`port` (0: any free port). */
export async function serveNode(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  port = 0,
): Promise<NodeServed> {
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
