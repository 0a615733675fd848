// Node support, proven on Node itself (Node >= 20). Node 20 cannot run
// TypeScript, so tests/run.ts (`deno task test node`) first bundles this file
// and examples/thumbnails.ts with the Bun that `npm install` brings, into
// tests/.out/node/*.bundle.mjs, and runs `node tests/.out/node/run.bundle.mjs`.
// In one node:test run: the library's own runtime-neutral tests, unchanged,
// the native node:http listener and transport (node_native_test.ts), and
// the seed's scenario between two Node processes of the example, served
// by @hono/node-server.
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describeSeedScenario } from "../_dev/thumbnail_nodes.ts";
// The test files that need nothing but node:test and the library; they
// register with this run's node:test.
import "../batch_test.ts";
import "../bounds_test.ts"; // keys, values and expiries that cannot split a cluster
import "../byte_view_test.ts";
import "../discovery_test.ts";
import "../dns_test.ts"; // dnsPeers, the Node-specific entry point, on Node
import "../framed_hit_test.ts";
import "../group_test.ts";
import "../handoff_test.ts"; // handoff on ring changes, leave on close
import "../http_pool_test.ts";
import "../lru_test.ts";
import "../memory_bound_test.ts";
// @x/groupcache/node: its listener and transport over real sockets, with the
// hostile-peer and Go interop suites.
import "../node_native_test.ts";
import "../peer_health_test.ts";
import "../security_test.ts"; // the peer port as an attacker sees it
import "../sink_test.ts";
import "../signature_test.ts"; // the peer signature's HMAC-SHA-256
import "../siphash_test.ts"; // HalfSipHash, the LRU's hash of long keys
import "../string_hash_test.ts"; // the LRU's keyed string hash
import "../slab_store_test.ts";

/** The example's bundle: next to this one, once bundled. */
const THUMBNAILS = join(
  dirname(fileURLToPath(import.meta.url)),
  "thumbnails.bundle.mjs",
);

describeSeedScenario(
  `Node ${process.version}`,
  (args) => [process.execPath, [THUMBNAILS, ...args]],
);
