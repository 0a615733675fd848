// The JavaScript runtimes of the dev tools: which one runs this script,
// where Deno and Bun are, and the command line that runs a TypeScript file
// under either. Runs under Deno, Bun and Node.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { root } from "./paths.ts";

/** A runtime this repository's code runs on. */
export type Runtime = "deno" | "bun" | "node";

/** The runtime running this script. */
export function runtimeName(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Deno's executable: this process's own under Deno (by path: Deno's
 * node:child_process mishandles a bare "deno"), else a deno on PATH.
 */
export function findDeno(): string | undefined {
  return runtimeName() === "deno" ? process.execPath : onPath("deno");
}

/**
 * Bun's executable: this process's own under Bun, else the one `npm install`
 * puts in node_modules/.bin, else a bun on PATH.
 */
export function findBun(): string | undefined {
  if (runtimeName() === "bun") return process.execPath;
  const local = join(root, "node_modules", ".bin", "bun");
  return isExecutable(local) ? local : onPath("bun");
}

/**
 * The command that runs the TypeScript file `script` under `runtime` (by
 * default the one running this script): `deno run -A` or `bun run`.
 */
export function runtimeCommand(
  script: string,
  args: string[] = [],
  runtime: Runtime = runtimeName(),
): [string, string[]] {
  if (runtime === "deno") {
    return [findDeno() ?? "deno", ["run", "-A", script, ...args]];
  }
  if (runtime === "bun") return [findBun() ?? "bun", ["run", script, ...args]];
  throw new Error(`${script}: Node cannot run TypeScript; use Deno or Bun`);
}
