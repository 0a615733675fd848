// Tiny path helpers so tests need no @std/path (JSR is not reachable here).
import { fileURLToPath } from "node:url";
import * as path from "node:path";

/** Converts a file: URL to a path. */
export function fromFileUrl(url: string | URL): string {
  return fileURLToPath(url);
}
export const { dirname, join } = path;
