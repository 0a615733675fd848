// The peer client's per-request machinery: a group's remote get hands its
// abort to the pool's client as an Asking (src/asking.ts), with no
// AbortController of its own, and the limits still hold through it: the
// caller leaving aborts the request, the pool's timeout bounds a peer that
// never answers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  encodeGetResponse,
  HttpPool,
  type PeerReply,
  type PeerRequest,
  type PeerTransport,
  Registry,
  silentLogger,
} from "../mod.ts";
import { Asking } from "../src/asking.ts";
import { countMade } from "./_dev/count_made.ts";

const SELF = "http://a.test";
const PEER = "http://b.test";

/** A transport that answers every request with `value`, or never (its aborts kept). */
function transport(value?: string): PeerTransport & { aborts: unknown[] } {
  const aborts: unknown[] = [];
  const send = (_url: string, request: PeerRequest): Promise<PeerReply> => {
    if (value === undefined) {
      return new Promise((_, reject) =>
        request.onAbort((reason) => {
          aborts.push(reason);
          reject(reason);
        })
      );
    }
    const body = encodeGetResponse(new TextEncoder().encode(value));
    return Promise.resolve({
      status: 200,
      redirected: false,
      header: (name) =>
        name === "content-type" ? "application/x-protobuf" : null,
      body: () => Promise.resolve(body),
      cancel: () => Promise.resolve(),
    });
  };
  return Object.assign(send, { aborts });
}

/** A node that asks `PEER` for its keys through `t`. */
function asker(t: PeerTransport, timeoutMs = 30_000) {
  const pool = new HttpPool(SELF, {
    registry: new Registry(),
    transport: t,
    timeoutMs,
    logger: silentLogger,
  });
  pool.set(SELF, PEER);
  let localLoads = 0;
  const group = pool.newGroup("g", 1 << 20, (key) => {
    localLoads++;
    return `local ${key}`;
  }, { hotCache: "never" });
  let key = "";
  for (let i = 0; pool.owner(key = `k${i}`) !== PEER; i++);
  return { pool, group, key, localLoads: () => localLoads };
}

describe("Asking", () => {
  it("makes its signal only when read, aborted with the reason if it was already", () => {
    const asking = new Asking();
    const reason = new Error("gone");
    asking.abort(reason);
    asking.abort(new Error("again")); // the first reason stays
    assert.equal(asking.aborted, true);
    assert.equal(asking.reason, reason);
    assert.equal(asking.signal.aborted, true);
    assert.equal(asking.signal.reason, reason);
  });

  it("tells one listener, at once when already aborted, never once it stopped", () => {
    const heard: unknown[] = [];
    const listener = { abort: (reason: unknown) => heard.push(reason) };
    const a = new Asking();
    a.listen(listener);
    a.unlisten(listener);
    a.abort("a");
    const b = new Asking();
    b.listen(listener);
    const signal = b.signal;
    b.abort("b");
    b.listen(listener); // after the abort: told at once
    assert.deepEqual(heard, ["b", "b"]);
    assert.equal(signal.reason, "b");
    const c = new Asking();
    c.abort();
    assert.equal((c.reason as DOMException).name, "AbortError");
  });
});

describe("a group's remote get through the pool's client", () => {
  it("makes no AbortController when the transport reads no signal", async () => {
    const t = transport("remote");
    const { group, key, localLoads } = asker(t);
    const { result, made } = await countMade(
      "AbortController",
      () => group.get(key),
    );
    assert.equal(result.toString(), "remote");
    assert.equal(made, 0);
    assert.equal(localLoads(), 0);
    assert.equal(group.stats.peerLoads, 1);
  });

  it("aborts the request when its caller leaves, without blaming the peer", async () => {
    const t = transport(); // never answers
    const { pool, group, key, localLoads } = asker(t);
    const leave = new AbortController();
    const got = group.get(key, { signal: leave.signal });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const reason = new Error("the caller left");
    leave.abort(reason);
    await assert.rejects(got, /the caller left/);
    assert.deepEqual(t.aborts, [reason]);
    assert.equal(pool.peerHealth()[0].state, "up");
    assert.equal(group.stats.peerErrors, 0);
    assert.equal(localLoads(), 0);
  });

  it("bounds a peer that never answers by the pool's timeout, then loads locally", async () => {
    const t = transport(); // never answers
    const { pool, group, key, localLoads } = asker(t, 50);
    const t0 = performance.now();
    assert.equal((await group.get(key)).toString(), `local ${key}`);
    assert.ok(performance.now() - t0 < 5_000);
    assert.equal(t.aborts.length, 1);
    assert.equal((t.aborts[0] as DOMException).name, "TimeoutError");
    assert.equal(group.stats.peerErrors, 1);
    assert.equal(localLoads(), 1);
    assert.equal(pool.peerHealth()[0].lastError?.reason, "timeout");
    await pool.close();
  });
});
