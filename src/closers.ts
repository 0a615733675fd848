/**
 * Closers: what `HttpPool.close()` stops besides the pool itself — the peer
 * sources (`dnsPeers`, `etcdPeers`) started on it, which register here so
 * that a node needs one call to shut down.
 *
 * @module
 */

/** Something that stops, like a discovery handle. */
export interface Closable {
  /** Stops it; resolves once stopped, never rejects. */
  close(): Promise<void>;
}

const byPool = new WeakMap<object, Set<Closable>>();

/** Registers `handle` to be closed with `pool`; returns `handle`. */
export function closeWithPool<T extends Closable>(pool: object, handle: T): T {
  let handles = byPool.get(pool);
  if (handles === undefined) {
    handles = new Set();
    byPool.set(pool, handles);
  }
  handles.add(handle);
  return handle;
}

/** Closes every handle registered with `pool` (a closed one again: harmless). */
export async function closeRegistered(pool: object): Promise<void> {
  const handles = byPool.get(pool);
  if (handles === undefined) return;
  byPool.delete(pool);
  await Promise.all([...handles].map((h) => h.close().catch(() => {})));
}
