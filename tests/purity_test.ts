// The library itself (mod.ts and src/) imports nothing but its own files and
// touches no runtime-specific global: only web APIs. JSDoc examples may import
// node:assert (they are documentation, run by `deno test --doc`), so comments
// are stripped before checking.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, fromFileUrl, join } from "./_dev/paths.ts";

const root = join(dirname(fromFileUrl(import.meta.url)), "..");
const files = [
  "mod.ts",
  ...readdirSync(join(root, "src")).filter((f) => f.endsWith(".ts")).map((f) =>
    `src/${f}`
  ),
];

/** The code without comments (string contents are kept). */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
    .replace(/\s\/\/ .*$/gm, "");
}

describe("the library uses web APIs only", () => {
  it("has files to check", () => {
    assert.ok(files.length >= 10, files.join(", "));
  });
  for (const file of files) {
    it(`${file} imports only the library's own files`, () => {
      const src = code(readFileSync(join(root, file), "utf8"));
      const specifiers = [
        ...src.matchAll(/\bfrom\s+"([^"]+)"|\bimport\s*\(\s*"([^"]+)"/g),
      ]
        .map((m) => m[1] ?? m[2]);
      for (const s of specifiers) {
        assert.match(s, /^\.\.?\/[\w/]+\.ts$/, `${file} imports ${s}`);
      }
      assert.doesNotMatch(src, /\brequire\s*\(/, `${file} calls require`);
    });
    it(`${file} touches no Deno, Bun or Node global`, () => {
      const src = code(readFileSync(join(root, file), "utf8"));
      assert.doesNotMatch(
        src,
        /\b(?:Deno|Bun)\s*\.|\bprocess\s*\.|\bBuffer\s*\./,
        file,
      );
    });
  }
});
