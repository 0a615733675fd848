// Memory of this process, as the memory tests and benches measure it: a full
// garbage collection on Deno, Bun or Node, and the live bytes left after it.
import process from "node:process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;

/** A full garbage collection (twice on V8, so finalized buffers go too). */
export function collector(): () => void {
  if (bun !== undefined) return () => bun.gc(true);
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    gc();
    gc();
  };
}

/**
 * Live bytes after `gc`: the JS heap plus what is held outside it (backing
 * stores). On Bun `heapUsed` already counts array buffers' memory (JSC's
 * "extra memory"), and `external` would count it again.
 */
export function liveBytes(gc: () => void): number {
  gc();
  const m = process.memoryUsage();
  return bun !== undefined ? m.heapUsed : m.heapUsed + m.external;
}
