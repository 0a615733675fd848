/**
 * Leaving: before a pool closes, it hands its most recently used owned
 * values to the nodes that own them once it is gone (the ring without it),
 * many values a request (the batch set, batch_set.ts; single `PUT`s to a
 * node that does not know it), within a byte and a time budget, a few
 * requests at a time to each next owner. The receivers keep them as if they
 * had loaded them, so the keys of a node that leaves are not loaded again.
 * A node that is killed hands off nothing; its keys are loaded again, as
 * without this.
 *
 * @module
 */

import { type ByteView, utf8Length } from "./byte_view.ts";
import type { OwnerRing } from "./handoff.ts";
import type { GroupServer } from "./registry.ts";
import { MAX_BATCH_SET_BYTES } from "./batch_set.ts";

/** How many batch sets a leaving node has in flight to each next owner. */
export const LEAVE_BATCHES_PER_PEER = 4;

/** How many single `PUT`s go at once to a next owner without batch sets. */
export const LEAVE_CONCURRENCY = 16;

/** A next owner, as leaving sends to it. */
export interface NextOwner {
  /** Stores one value (the single `PUT`). */
  set(
    group: string,
    key: string,
    value: ByteView,
    signal: AbortSignal,
  ): Promise<void>;
  /** Stores many values of `group`; `false`: the peer does not know how. */
  setBatch(
    group: string,
    values: ReadonlyArray<readonly [string, ByteView]>,
    signal: AbortSignal,
  ): Promise<boolean>;
}

/** What a node that leaves hands off, and to whom. */
export interface Leaving {
  /** Each group's name and server (its main cache and counters). */
  readonly groups: ReadonlyArray<readonly [string, GroupServer]>;
  /** Whether this node owns `key` now. */
  owns(key: string): boolean;
  /** The ring without this node: where its keys go. */
  next: OwnerRing;
  /** The peer to send a value to, if it may be sent one (ours, up). */
  peer(url: string): NextOwner | undefined;
  /** The byte budget (keys and values). */
  bytes: number;
  /** The time budget, in milliseconds. */
  timeoutMs: number;
  /** Whether the peers take writes from this node (else only `picked` is told). */
  writable: boolean;
}

/** What a leave did, for the log. */
export interface LeaveReport {
  /** Values picked to hand off (owned, with a next owner, within the bytes). */
  picked: number;
  /** Values the next owners took. */
  handed: number;
  /** Their bytes (keys and values). */
  bytes: number;
  /** Whether the time budget ran out. */
  timedOut: boolean;
}

/** Values of one group, for one next owner, sent in one request. */
interface Batch {
  group: string;
  server: GroupServer;
  values: Array<[string, ByteView]>;
  bytes: number;
}

/**
 * Hands off the owned values of `leaving.groups`, most recently used first,
 * until the byte budget is spent (picked at once, so a cache that changes
 * meanwhile changes nothing) and within the time budget. Never rejects.
 */
export async function leave(leaving: Leaving): Promise<LeaveReport> {
  const { owners, picked } = pick(leaving);
  const report = { picked, handed: 0, bytes: 0, timedOut: false };
  if (!leaving.writable || picked === 0) return report;
  const stop = new AbortController();
  const timer = setTimeout(() => {
    report.timedOut = true;
    stop.abort(new DOMException("leave budget spent", "TimeoutError"));
  }, leaving.timeoutMs);
  const handed = (batch: Batch, values: Array<[string, ByteView]>) => {
    for (const [key, value] of values) {
      batch.server.handedOff();
      report.handed++;
      report.bytes += utf8Length(key) + value.length;
    }
  };
  try {
    await Promise.all(
      [...owners].map(([peer, batches]) =>
        handTo(peer, batches, stop.signal, handed)
      ),
    );
  } finally {
    clearTimeout(timer);
  }
  return report;
}

/**
 * Sends `batches` to `peer`, {@linkcode LEAVE_BATCHES_PER_PEER} at a time;
 * once it answers that it does not know batch sets, the rest go as single
 * `PUT`s. A failed request counts its values as not handed.
 */
async function handTo(
  peer: NextOwner,
  batches: Batch[],
  signal: AbortSignal,
  handed: (batch: Batch, values: Array<[string, ByteView]>) => void,
): Promise<void> {
  let batched = true;
  await inTurn(batches, LEAVE_BATCHES_PER_PEER, signal, async (batch) => {
    if (batched) {
      if (await peer.setBatch(batch.group, batch.values, signal)) {
        return handed(batch, batch.values);
      }
      batched = false;
    }
    await oneByOne(peer, batch, signal, handed);
  });
}

/** `batch` as single `PUT`s, {@linkcode LEAVE_CONCURRENCY} at a time. */
function oneByOne(
  peer: NextOwner,
  batch: Batch,
  signal: AbortSignal,
  handed: (batch: Batch, values: Array<[string, ByteView]>) => void,
): Promise<void> {
  return inTurn(batch.values, LEAVE_CONCURRENCY, signal, async (entry) => {
    await peer.set(batch.group, entry[0], entry[1], signal);
    handed(batch, [entry]);
  });
}

/**
 * `send` of each of `items` in order, at most `limit` at a time, until
 * `signal` aborts; a failed send (refused, failed, out of time) only
 * leaves its values counted as not handed.
 */
async function inTurn<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  send: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal.aborted) {
      try {
        await send(items[next++]);
      } catch { /* counted as not handed */ }
    }
  };
  const workers = Math.min(limit, items.length);
  await Promise.all(Array.from({ length: workers }, worker));
}

/**
 * The values to hand off, most recently used first, within the byte
 * budget: per next owner, in batches of at most
 * {@linkcode MAX_BATCH_SET_BYTES} of one group each.
 */
function pick(
  leaving: Leaving,
): { owners: Map<NextOwner, Batch[]>; picked: number } {
  const owners = new Map<NextOwner, Batch[]>();
  let picked = 0;
  let budget = leaving.bytes;
  for (const [group, server] of leaving.groups) {
    const open = new Map<NextOwner, Batch>();
    for (const [key, value] of server.newest()) {
      if (!leaving.owns(key)) continue;
      const size = utf8Length(key) + value.length;
      if (size > budget) return { owners, picked };
      const url = leaving.next.get(key);
      const peer = url === undefined ? undefined : leaving.peer(url);
      if (peer === undefined) continue;
      budget -= size;
      picked++;
      let batch = open.get(peer);
      if (batch === undefined || batch.bytes + size > MAX_BATCH_SET_BYTES) {
        batch = { group, server, values: [], bytes: 0 };
        open.set(peer, batch);
        const batches = owners.get(peer) ?? [];
        batches.push(batch);
        owners.set(peer, batches);
      }
      batch.values.push([key, value]);
      batch.bytes += size;
    }
  }
  return { owners, picked };
}

/**
 * The log line of a leave that took `ms`, or none when it had nothing to
 * hand off. Without writes between nodes it says why nothing was handed.
 */
export function leaveLine(
  report: LeaveReport,
  writable: boolean,
  ms: number,
  timeoutMs: number,
): string | undefined {
  if (report.picked === 0) return undefined;
  if (!writable) {
    return `groupcache: close() hands none of ${report.picked} values to ` +
      "their next owners: writes between nodes are off (give every " +
      'node the same secret, or writes: "open"), so they load them again';
  }
  const failed = report.picked - report.handed;
  return `groupcache: leaving: handed ${report.handed} values (${report.bytes} ` +
    `bytes) to their next owners in ${Math.round(ms)} ms` +
    (failed > 0
      ? `; ${failed} not handed (${
        report.timedOut
          ? `leaveTimeoutMs ${timeoutMs} passed`
          : "refused or failed"
      })`
      : "");
}
