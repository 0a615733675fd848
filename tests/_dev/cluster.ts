// An in-process cluster: several nodes in one process, each with its own
// Registry, HttpPool and Group, wired through a custom fetch (no sockets).
import {
  type Getter,
  Group,
  type GroupOptions,
  HttpPool,
  type HttpPoolOptions,
  Registry,
} from "../../mod.ts";

export interface TestNode {
  url: string;
  pool: HttpPool;
  group: Group;
  /** Getter calls on this node, by key. */
  loads: Map<string, number>;
  /** Set to make the node unreachable (fetch rejects, as for a dead peer). */
  down: boolean;
  /**
   * Set to make the node hang, as a stopped process: fetches to it wait
   * until their signal aborts (probes of {@linkcode HttpPool} included).
   */
  hung: boolean;
  /** Requests this node's handler received, as raw URLs. */
  requests: string[];
  /** The same requests as "METHOD url", for tests of set and remove. */
  calls: string[];
}

export interface ClusterOptions {
  nodes?: number;
  group?: string;
  cacheBytes?: number;
  /** The value for a key on node `i`; throw to fail. Default: `v:${key}`. */
  value?: (
    key: string,
    node: number,
  ) => string | Uint8Array | Promise<string | Uint8Array>;
  getter?: (node: number) => Getter;
  random?: (node: number) => () => number;
  pool?: HttpPoolOptions | ((node: number) => HttpPoolOptions);
  groupOptions?: GroupOptions;
}

export function makeCluster(options: ClusterOptions = {}) {
  const n = options.nodes ?? 3;
  const urls = Array.from({ length: n }, (_, i) => `http://node${i}.test`);
  const nodes: TestNode[] = [];
  const fetch = (input: string, init: RequestInit): Promise<Response> => {
    const node = nodes.find((x) => input.startsWith(x.url + "/"));
    if (node === undefined || node.down) {
      return Promise.reject(new TypeError(`connection refused: ${input}`));
    }
    if (node.hung) {
      const signal = init.signal!;
      return new Promise((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason));
      });
    }
    const req = new Request(input, init);
    node.requests.push(req.url);
    node.calls.push(`${req.method} ${req.url}`);
    return node.pool.handler(req);
  };
  for (let i = 0; i < n; i++) {
    const registry = new Registry();
    const extra = typeof options.pool === "function"
      ? options.pool(i)
      : options.pool;
    // Handoff off unless asked for: the tests built on this cluster count
    // requests, and a handoff adds one before a getter runs.
    const pool = new HttpPool(urls[i], {
      registry,
      fetch,
      handoffWindowMs: 0,
      ...extra,
    });
    const loads = new Map<string, number>();
    const value = options.value ?? ((key: string) => `v:${key}`);
    const getter: Getter = options.getter?.(i) ?? (async (key, dest) => {
      loads.set(key, (loads.get(key) ?? 0) + 1);
      const v = await value(key, i);
      if (typeof v === "string") dest.setString(v);
      else dest.setBytes(v);
    });
    const group = new Group(
      options.group ?? "test",
      options.cacheBytes ?? 1 << 20,
      getter,
      {
        peers: pool,
        // A test that brings its own random tests Go's one-in-ten rule.
        ...(options.random
          ? { random: options.random(i), hotCache: "go" as const }
          : {}),
        ...options.groupOptions,
      },
    );
    nodes.push({
      url: urls[i],
      pool,
      group,
      loads,
      down: false,
      hung: false,
      requests: [],
      calls: [],
    });
  }
  for (const node of nodes) node.pool.set(...urls);
  const totalLoads = (key?: string) =>
    nodes.reduce(
      (sum, node) =>
        sum + (key === undefined
          ? [...node.loads.values()].reduce((a, b) => a + b, 0)
          : node.loads.get(key) ?? 0),
      0,
    );
  /** A key that node `owner` owns, from a deterministic sequence. */
  const keyOwnedBy = (owner: number, prefix = "key-"): string => {
    for (let i = 0;; i++) {
      const key = `${prefix}${i}`;
      if (nodes[0].pool.owner(key) === urls[owner]) return key;
    }
  };
  return { nodes, urls, fetch, totalLoads, keyOwnedBy };
}

export { seededRandom } from "./random.ts";

/**
 * A key each of two nodes thinks the other owns (their rings disagree, e.g.
 * through different hashes).
 */
export function keyOwnedByTheOther(c: ReturnType<typeof makeCluster>): string {
  for (let i = 0;; i++) {
    const k = `disagree-${i}`;
    if (
      c.nodes[0].pool.owner(k) === c.urls[1] &&
      c.nodes[1].pool.owner(k) === c.urls[0]
    ) return k;
  }
}
