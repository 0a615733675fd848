/**
 * Leaving: before a pool closes, it hands its most recently used owned
 * values to the nodes that own them once it is gone (the ring without it),
 * with the `set` wire (`PUT`), within a byte and a time budget, a few
 * requests at a time. The receivers keep them as if they had loaded them,
 * so the keys of a node that leaves are not loaded again. A node that is
 * killed hands off nothing; its keys are loaded again, as without this.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import type { OwnerRing } from "./handoff.ts";
import type { PeerGetter } from "./peers.ts";
import type { GroupServer } from "./registry.ts";

/** How many `PUT`s a leaving node has in flight at once. */
export const LEAVE_CONCURRENCY = 16;

/** What a node that leaves hands off, and to whom. */
export interface Leaving {
  /** Each group's name and server (its main cache and counters). */
  readonly groups: ReadonlyArray<readonly [string, GroupServer]>;
  /** Whether this node owns `key` now. */
  owns(key: string): boolean;
  /** The ring without this node: where its keys go. */
  next: OwnerRing;
  /** The peer to send a value to, if it may be sent one (ours, up). */
  peer(url: string): PeerGetter | undefined;
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

interface Handing {
  group: string;
  server: GroupServer;
  key: string;
  value: ByteView;
  peer: PeerGetter;
}

const encoder = new TextEncoder();

/**
 * Hands off the owned values of `leaving.groups`, most recently used first,
 * until the byte budget is spent (picked at once, so a cache that changes
 * meanwhile changes nothing) and within the time budget. Never rejects.
 */
export async function leave(leaving: Leaving): Promise<LeaveReport> {
  const queue = pick(leaving);
  const report = { picked: queue.length, handed: 0, bytes: 0, timedOut: false };
  if (!leaving.writable || queue.length === 0) return report;
  const stop = new AbortController();
  const timer = setTimeout(() => {
    report.timedOut = true;
    stop.abort(new DOMException("leave budget spent", "TimeoutError"));
  }, leaving.timeoutMs);
  let next = 0;
  const worker = async () => {
    while (next < queue.length && !stop.signal.aborted) {
      const { group, server, key, value, peer } = queue[next++];
      try {
        await peer.set!(group, key, value, stop.signal);
        server.handedOff();
        report.handed++;
        report.bytes += encoder.encode(key).length + value.length;
      } catch { /* refused, failed or out of time: counted as not handed */ }
    }
  };
  try {
    const workers = Math.min(LEAVE_CONCURRENCY, queue.length);
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    clearTimeout(timer);
  }
  return report;
}

/** The values to hand off, most recently used first, within the byte budget. */
function pick(leaving: Leaving): Handing[] {
  const queue: Handing[] = [];
  let budget = leaving.bytes;
  for (const [group, server] of leaving.groups) {
    for (const [key, value] of server.newest()) {
      if (!leaving.owns(key)) continue;
      const size = encoder.encode(key).length + value.length;
      if (size > budget) return queue;
      const url = leaving.next.get(key);
      const peer = url === undefined ? undefined : leaving.peer(url);
      if (peer?.set === undefined) continue;
      budget -= size;
      queue.push({ group, server, key, value, peer });
    }
  }
  return queue;
}
