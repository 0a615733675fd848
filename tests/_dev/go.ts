// Builds the small Go programs under tests/go/ and bench/go/ against Debian's
// golang-github-golang-groupcache-dev (GOPATH mode, no module downloads).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { join, root } from "./paths.ts";
import { hasCommand } from "./proc.ts";

/** Where Debian installs the Go groupcache sources (and golang/protobuf). */
export const GOPATH = "/usr/share/gocode";

/** True when `go` is on PATH and the Debian groupcache package is present. */
export function goAvailable(): boolean {
  if (
    !existsSync(join(GOPATH, "src/github.com/golang/groupcache/groupcache.go"))
  ) return false;
  return hasCommand("go");
}

/**
 * Under CI a Go test must fail, not skip, when Go is missing. Returns the
 * `skip` option for node:test: a reason string locally, `false` when Go is here.
 */
export function skipWithoutGo(): string | false {
  if (goAvailable()) return false;
  if (process.env.CI === "true") {
    throw new Error(
      "CI=true but Go or golang-github-golang-groupcache-dev is missing: " +
        "apt-get install golang-go golang-github-golang-groupcache-dev",
    );
  }
  return "Go or golang-github-golang-groupcache-dev not installed";
}

/**
 * Builds `<repo>/<pkgDir>/main.go` into `<repo>/tests/.out/<name>` and returns
 * the binary's path. `pkgDir` is relative to the repository root, e.g.
 * "tests/go/ring".
 */
export function buildGo(pkgDir: string, name: string): string {
  const outDir = join(root, "tests/.out");
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, name);
  execFileSync("go", ["build", "-o", out, "."], {
    cwd: join(root, pkgDir),
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      GOPATH,
      GO111MODULE: "off",
      GOCACHE: process.env.GOCACHE ?? join(tmpdir(), "groupcache-gocache"),
    },
  });
  return out;
}
