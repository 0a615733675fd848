// Paths for the dev tools: the repository's root, and the few node:path
// helpers the tests use (no @std/path: JSR is not reachable here).
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Converts a file: URL to a path. */
export function fromFileUrl(url: string | URL): string {
  return fileURLToPath(url);
}
export const { dirname, join } = path;

/** The repository's root directory, absolute, without a trailing slash. */
export const root: string = path.resolve(
  fileURLToPath(new URL("../..", import.meta.url)),
);
