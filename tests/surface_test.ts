// The public surface by role: mod.ts exports everything, each building block
// is also a subpath export of its own (deno.json "exports"), and a subpath
// exports the same objects as mod.ts, nothing more.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join, root } from "./_dev/paths.ts";
import * as mod from "../mod.ts";

const exports: Record<string, string> = JSON.parse(
  readFileSync(join(root, "deno.json"), "utf8"),
).exports;

// The building blocks and what each subpath must export (values only: types
// leave no trace at run time).
const blocks: Record<string, string[]> = {
  "./lru": ["LruCache"],
  "./ring": ["HashRing"],
  "./crc32": ["crc32", "crc32Update"],
  "./singleflight": ["SingleFlight"],
  "./protobuf": [
    "decodeGetResponse",
    "decodeGetResponseMessage",
    "decodeSetRequest",
    "encodeGetResponse",
    "encodeGetResponseMessage",
    "encodeSetRequest",
    "msFromUnixNanos",
    "unixNanosFromMs",
  ],
};

describe("the public surface", () => {
  for (const [subpath, names] of Object.entries(blocks)) {
    it(`${subpath} exports ${names.join(", ")}, the same objects as mod.ts`, async () => {
      const file = exports[subpath];
      assert.ok(file, `deno.json exports has no ${subpath}`);
      const sub = await import(pathToFileURL(join(root, file)).href);
      assert.deepEqual(Object.keys(sub).sort(), [...names].sort());
      for (const name of names) {
        assert.equal(sub[name], (mod as Record<string, unknown>)[name], name);
      }
    });
  }

  it("keeps every entry point of the package", () => {
    assert.deepEqual(Object.keys(exports).sort(), [
      ".",
      "./cli",
      "./crc32",
      "./dns",
      "./lru",
      "./node",
      "./protobuf",
      "./ring",
      "./singleflight",
    ]);
  });

  it("still exports every name mod.ts exported before the subpaths", () => {
    const before = [
      "BaseSink",
      "ByteView",
      "ByteViewSink",
      "BytesSink",
      "ConfigError",
      "ENTRY_OVERHEAD",
      "GetterError",
      "Group",
      "HashRing",
      "HttpPool",
      "InvalidKeyError",
      "LoadTimeoutError",
      "LruCache",
      "MalformedReplyError",
      "PeerError",
      "ProtobufError",
      "Registry",
      "SingleFlight",
      "SinkNotSetError",
      "StringSink",
      "TruncatingBytesSink",
      "byteViewSink",
      "bytesSink",
      "crc32",
      "crc32Update",
      "decodeGetResponse",
      "decodeGetResponseMessage",
      "decodeSetRequest",
      "defaultRegistry",
      "encodeGetResponse",
      "encodeGetResponseMessage",
      "encodeSetRequest",
      "etcdPeers",
      "getGroup",
      "otelMetrics",
      "silentLogger",
      "stringSink",
      "truncatingBytesSink",
    ];
    for (const name of before) assert.ok(name in mod, name);
  });
});
