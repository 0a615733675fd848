// A cluster of nodes in this process, each an HttpPool and a Group behind a
// real server on 127.0.0.1 (Deno.serve or Bun.serve, see ./serve.ts), so
// that every peer request crosses loopback HTTP. The getter is the caller's,
// told which node runs it; close() stops every server.
import { Group, type GroupOptions, HttpPool, Registry } from "../../mod.ts";
import type { Getter } from "../../mod.ts";
import { serve, type Served } from "./serve.ts";

/** One node of a loopback cluster. */
export interface LoopbackNode {
  url: string;
  pool: HttpPool;
  group: Group;
}

/** A running loopback cluster. */
export interface LoopbackCluster {
  nodes: LoopbackNode[];
  /** The node that owns `key`. */
  ownerOf(key: string): LoopbackNode;
  close(): Promise<void>;
}

/** Starts `count` nodes serving group `name`, with `getter(node)` each. */
export async function loopbackCluster(
  count: number,
  name: string,
  getter: (node: number) => Getter,
  options: GroupOptions = {},
): Promise<LoopbackCluster> {
  const pools: HttpPool[] = [];
  const served: Served[] = [];
  try {
    for (let i = 0; i < count; i++) {
      served.push(await serve((req) => pools[i].handler(req)));
    }
  } catch (err) {
    await Promise.all(served.map((s) => s.close()));
    throw err;
  }
  const urls = served.map((s) => s.url);
  const nodes = urls.map((url, i) => {
    const pool = new HttpPool(url, { registry: new Registry() });
    pools.push(pool);
    pool.set(...urls);
    const group = new Group(name, 64 << 20, getter(i), {
      peers: pool,
      ...options,
    });
    return { url, pool, group };
  });
  return {
    nodes,
    ownerOf: (key) => nodes.find((n) => n.url === pools[0].owner(key))!,
    async close() {
      for (const pool of pools) await pool.close();
      await Promise.all(served.map((s) => s.close()));
    },
  };
}
