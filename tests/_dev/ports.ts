// Free TCP ports on 127.0.0.1 for servers the dev tools start.
import { createServer, type Server } from "node:net";

/**
 * `count` distinct free ports on 127.0.0.1: all are bound together, so none
 * repeats, then released (so another process may take one meanwhile).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(
      servers.map((s) => new Promise<void>((done) => s.close(() => done()))),
    );
  }
}

/** One free port on 127.0.0.1 (bound then released, so a race is possible). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}
