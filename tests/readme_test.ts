// The README as its two kinds of readers meet it. On jsr.io the published
// package holds only mod.ts, src/, README.md and LICENSE, so every link must
// be absolute. In a clone, its cluster recipes must work as written: each
// recipe is read from the README's own text (the ```sh block after its
// `<!-- recipe: … -->` marker) and run command by command, with one change:
// its ports 8080… become free ports, so that runs never collide.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, root } from "./_dev/paths.ts";
import { freePorts } from "./_dev/ports.ts";
import { runToExit } from "./_dev/proc.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import {
  get,
  type Got,
  loadedBy,
  ownerOf,
  startThumbnailNode,
  type ThumbnailNode,
} from "./_dev/thumbnail_nodes.ts";

const README = readFileSync(join(root, "README.md"), "utf8");

/** One command of a recipe. */
interface Step {
  /** `node`: ends with `&`; `curl`: a request; `run`: anything else, run to its end. */
  kind: "node" | "curl" | "run";
  argv: string[];
  /** The line's `# comment`, if any. */
  comment: string;
}

/** The text of the ```sh block after `<!-- recipe: NAME`. */
function recipeText(name: string): string {
  const at = README.indexOf(`<!-- recipe: ${name} `);
  assert.ok(at >= 0, `the README has no recipe "${name}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  assert.ok(block, `no sh block after the recipe "${name}"`);
  return block[1];
}

/** Splits a command line into words: '…' and "…" quote, nothing else is special. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) {
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

function parseRecipe(text: string): Step[] {
  return text.replace(/\\\n\s*/g, "").split("\n").filter((l) => l.trim())
    .map((line) => {
      const hash = line.search(/\s#\s/);
      const comment = hash < 0 ? "" : line.slice(hash).trim().slice(1).trim();
      let command = (hash < 0 ? line : line.slice(0, hash)).trim();
      const background = command.endsWith("&");
      if (background) command = command.slice(0, -1);
      const argv = words(command);
      const kind = background ? "node" : argv[0] === "curl" ? "curl" : "run";
      return { kind, argv, comment };
    });
}

/** The value of `--name` in `argv`. */
function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}

/** The thumbnails key a request URL asks for (as the example builds it). */
function keyOf(url: string): string {
  const u = new URL(url);
  return decodeURIComponent(u.pathname.slice("/thumbnails/".length)) +
    u.search;
}

/** A recipe run: its nodes by the README's port, and each request's answer. */
interface Run {
  nodes: Map<number, ThumbnailNode>;
  answers: { step: Step; url: string; key: string; got: Got }[];
}

/** The keys a recipe asks for, with the port of the owner its comment names. */
function claims(steps: Step[]): [key: string, port: number][] {
  return steps.filter((s) => s.kind === "curl").map((step) => {
    const url = step.argv.find((w) => w.startsWith("http://"))!;
    const port = /owned by :(\d+)/.exec(step.comment)?.[1];
    assert.ok(port, `no "owned by :PORT" for ${url}`);
    return [keyOf(url), Number(port)];
  });
}

/** The recipe's peer list with its ports swapped through `ports`. */
function peersOf(steps: Step[], ports = new Map<number, number>()): string[] {
  const node = steps.find((s) => s.kind === "node")!;
  return flag(node.argv, "peers")!.split(",").map((url) =>
    url.replace(/:(\d+)$/, (all, p) => {
      const port = ports.get(Number(p));
      return port === undefined ? all : `:${port}`;
    })
  );
}

/**
 * Free ports for the recipe's ports under which every key keeps the owner
 * the README names, so a run shows what the README says it shows.
 */
async function portsKeepingOwners(steps: Step[]): Promise<Map<number, number>> {
  const wanted = steps.filter((s) => s.kind === "node").map((s) =>
    Number(flag(s.argv, "port"))
  );
  const free = await freePorts(32);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const pick = [...free].sort(() => Math.random() - 0.5);
    const ports = new Map(wanted.map((p, i) => [p, pick[i]]));
    const peers = peersOf(steps, ports);
    const kept = claims(steps).every(([key, port]) =>
      ownerOf(key, peers) === `http://127.0.0.1:${ports.get(port)}`
    );
    if (kept) return ports;
  }
  throw new Error("no choice of free ports keeps the README's owners");
}

/** Runs `steps` from the repository's root; `cleanup` collects what to undo. */
async function runRecipe(
  steps: Step[],
  cleanup: (() => Promise<void> | void)[],
): Promise<Run> {
  const ports = await portsKeepingOwners(steps);
  const swap = (word: string, previous: string) => {
    if (previous === "--port") return String(ports.get(Number(word)) ?? word);
    if (word === "$(mktemp -d)") {
      const dir = mkdtempSync(join(tmpdir(), "readme-recipe-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    }
    return word.replace(
      /127\.0\.0\.1:(\d+)/g,
      (all, p) =>
        ports.has(Number(p)) ? `127.0.0.1:${ports.get(Number(p))}` : all,
    );
  };
  const run: Run = { nodes: new Map(), answers: [] };
  for (const step of steps) {
    const argv = step.argv.map((w, i) => swap(w, step.argv[i - 1]));
    const line = step.argv.join(" ");
    if (step.kind === "node") {
      const node = await startThumbnailNode(argv[0], argv.slice(1), {
        name: line,
        group: true, // npx leaves its child running when signalled alone
      });
      cleanup.push(() => node.stop());
      run.nodes.set(Number(flag(step.argv, "port")), node);
    } else if (step.kind === "run") {
      const r = await runToExit(argv[0], argv.slice(1), {
        cwd: root,
        timeoutMs: 120_000,
        group: true,
      });
      assert.equal(r.code, 0, `${line}\n${r.stdout}\n${r.stderr}`);
    } else {
      const url = argv.find((w) => w.startsWith("http://"))!;
      run.answers.push({ step, url, key: keyOf(url), got: await get(url) });
    }
  }
  return run;
}

/** Runs the recipe `name` before the suite's tests and stops it after them. */
function withRecipe(
  name: string,
  timeoutMs: number,
  tests: (run: () => Run) => void,
): void {
  const cleanup: (() => Promise<void> | void)[] = [];
  let run: Run | undefined;
  before(async () => {
    run = await runRecipe(parseRecipe(recipeText(name)), cleanup);
  }, { timeout: timeoutMs });
  after(async () => {
    for (const undo of cleanup.reverse()) await undo();
  });
  tests(() => run!);
}

describe("the README on jsr.io", () => {
  it("links only to absolute URLs: the package has no other files to link to", () => {
    const targets = [
      ...README.matchAll(/!?\[[^\]]*\]\(([^)\s]+)[^)]*\)/g),
      ...README.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm),
      ...README.matchAll(/\b(?:href|src)="([^"]+)"/g),
    ].map((m) => m[1]);
    for (const target of targets) {
      assert.match(target, /^https:\/\//, `a link to ${target}`);
    }
  });
});

for (const name of ["two nodes", "three nodes"]) {
  it(`the README's ${name} recipe gives every node the same peer list, its own URL included`, () => {
    const nodes = parseRecipe(recipeText(name)).filter((s) =>
      s.kind === "node"
    );
    assert.equal(nodes.length, name === "two nodes" ? 2 : 3);
    const lists = nodes.map((s) => flag(s.argv, "peers"));
    for (const [i, s] of nodes.entries()) {
      assert.equal(lists[i], lists[0], s.argv.join(" "));
      assert.ok(
        lists[i]!.split(",").includes(
          `http://127.0.0.1:${flag(s.argv, "port")}`,
        ),
        s.argv.join(" "),
      );
    }
  });

  it(`the README's ${name} recipe names each key's owner right`, () => {
    const steps = parseRecipe(recipeText(name));
    const peers = peersOf(steps);
    assert.ok(claims(steps).length >= 3);
    for (const [key, port] of claims(steps)) {
      assert.equal(ownerOf(key, peers), `http://127.0.0.1:${port}`, key);
    }
  });
}

describe(`the README's two nodes recipe, run (${runtimeName()}): the seed's scenario`, () => {
  withRecipe("two nodes", 120_000, (run) => {
    it("B serves the keys A owns, made once by A, and answers its own with a 404 naming B", async () => {
      const [[portA, a], [, b]] = [...run().nodes];
      const made: string[] = [];
      const owners = new Map(claims(parseRecipe(recipeText("two nodes"))));
      assert.equal(run().answers.length, 3);
      for (const { url, key, got } of run().answers) {
        assert.ok(url.startsWith(b.url), "each request goes to B");
        if (owners.get(key) === portA) {
          assert.equal(got.status, 200, `${key}: ${got.text}`);
          assert.equal(got.headers.get("x-groupcache-owner"), a.url);
          const fmt = new URL(url).searchParams.get("fmt") ?? "jpeg";
          assert.equal(got.headers.get("content-type"), `image/${fmt}`);
          made.push(key);
        } else {
          assert.equal(got.status, 404, `${key}: ${got.text}`);
          assert.equal(got.text, `no image big-file.jpg on ${b.url}\n`);
        }
      }
      assert.ok(made.length > 0 && made.length < 3, "both kinds of key");
      assert.deepEqual(await loadedBy(a), made);
      assert.deepEqual(await loadedBy(b), []);
    });
  });
});

describe(`the README's three nodes recipe, run (${runtimeName()}): Bun, Deno and Node`, () => {
  withRecipe("three nodes", 180_000, (run) => {
    it("runs one node on each runtime", () => {
      const said = [...run().nodes.values()].map((n) =>
        /listening on \S+ \((\w+)\)/.exec(n.output())?.[1]
      );
      assert.deepEqual(said.sort(), ["bun", "deno", "node"]);
    });

    it("answers every request, and each key through every node with the same bytes", async () => {
      for (const { key, url, got } of run().answers) {
        assert.equal(got.status, 200, `${url}: ${got.text}`);
        const { pathname, search } = new URL(url);
        for (const node of run().nodes.values()) {
          const again = await get(`${node.url}${pathname}${search}`);
          assert.equal(again.status, 200, `${key} via ${node.url}`);
          assert.deepEqual(again.body, got.body, `${key} via ${node.url}`);
        }
      }
    });

    it("made each key once, on the owner the README names", async () => {
      const owners = claims(parseRecipe(recipeText("three nodes")));
      for (const [port, node] of run().nodes) {
        assert.deepEqual(
          (await loadedBy(node)).sort(),
          owners.filter(([, p]) => p === port).map(([key]) => key).sort(),
          node.url,
        );
      }
    });
  });
});
