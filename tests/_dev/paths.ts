// Paths for the dev tools: the repository's root, and the few node:path
// helpers the tests use (no @std/path: JSR is not reachable here).
import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Converts a file: URL to a path. */
export function fromFileUrl(url: string | URL): string {
  return fileURLToPath(url);
}
export const { dirname, join } = path;

/**
 * The repository's root directory, absolute, without a trailing slash: the
 * nearest folder up from this file that holds deno.json (this file may be
 * inside a bundle in tests/.out/).
 */
export const root: string = (() => {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start;; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "deno.json"))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`no deno.json in ${start} or any folder above it`);
    }
  }
})();
