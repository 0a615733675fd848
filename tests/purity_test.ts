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

/** The module specifiers `file` imports. */
function importsOf(file: string): string[] {
  const src = code(readFileSync(join(root, file), "utf8"));
  return [...src.matchAll(/\bfrom\s+"([^"]+)"|\bimport\s*\(\s*"([^"]+)"/g)]
    .map((m) => m[1] ?? m[2]);
}

describe("the library uses web APIs only", () => {
  it("has files to check", () => {
    assert.ok(files.length >= 10, files.join(", "));
  });
  for (const file of files) {
    it(`${file} imports only the library's own files`, () => {
      for (const s of importsOf(file)) {
        assert.match(s, /^\.\.?\/[\w/]+\.ts$/, `${file} imports ${s}`);
      }
      const src = code(readFileSync(join(root, file), "utf8"));
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

// Client and server meet only in src/wire.ts (headers, path encoding, body
// limits): neither imports the other, so each can be read on its own.
describe("the wire runs one way", () => {
  const cases: [string, string, RegExp][] = [
    ["the server side", "src/http_handler.ts", /http_client\.ts$/],
    ["the client", "src/http_client.ts", /http_(handler|pool)\.ts$/],
    ["the wire", "src/wire.ts", /http_(client|handler|pool)\.ts$/],
  ];
  for (const [what, file, forbidden] of cases) {
    it(`${what} (${file}) imports neither the other side nor the pool`, () => {
      const imports = importsOf(file);
      assert.ok(imports.length > 0, `${file} has imports to check`);
      for (const s of imports) {
        assert.doesNotMatch(s, forbidden, `${file} imports ${s}`);
      }
    });
  }
  it("node.ts's server half imports nothing of the client but its types", () => {
    const src = code(readFileSync(join(root, "node.ts"), "utf8"));
    const client = [
      ...src.matchAll(
        /import\s*\{([^}]*)\}\s*from\s+"\.\/src\/http_client\.ts"/g,
      ),
    ]
      .flatMap((m) => m[1].split(",").map((n) => n.trim()).filter(Boolean));
    // The transport half raises the client's MalformedReplyError.
    assert.deepEqual(
      client.filter((n) => !n.startsWith("type ")),
      ["MalformedReplyError"],
    );
  });
});
