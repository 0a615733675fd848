// The README as its two kinds of readers meet it. On jsr.io the package holds
// the files deno.json publishes, and a relative link is resolved against the
// package's root there (as GitHub resolves it against the repository's): so
// every link is absolute, or relative to a published file. In a clone, its
// cluster recipes work as written: each recipe (the ```sh block after its
// `<!-- recipe: … -->` marker) is fed line by line, verbatim, to one `sh`,
// with one change: its ports 8080… become free ports, so that runs never
// collide. Its own lines wait for the nodes and stop them; after its last
// line every port it used must be free again.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { Buffer } from "node:buffer";
import process from "node:process";
import { join, root } from "./_dev/paths.ts";
import { freePorts } from "./_dev/ports.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import { get, ownerOf } from "./_dev/thumbnail_nodes.ts";

const README = readFileSync(join(root, "README.md"), "utf8");
const PUBLISHED: string[] =
  JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).publish.include;

/** One line of a recipe. */
interface Step {
  /** The line as the README has it (continuations joined). */
  line: string;
  /** `node`: starts a node in the background; `ask`: a request whose comment names the key's owner. */
  kind: "node" | "ask" | "other";
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

function parseRecipe(text: string): Step[] {
  return text.replace(/\\\n\s*/g, "").split("\n").filter((l) => l.trim())
    .map((line) => {
      const hash = line.search(/\s#\s/);
      const comment = hash < 0 ? "" : line.slice(hash).trim().slice(1).trim();
      const command = hash < 0 ? line : line.slice(0, hash);
      const kind = /\s&(\s|$)/.test(command)
        ? "node"
        : /owned by :\d+/.test(comment)
        ? "ask"
        : "other";
      return { line, kind, comment };
    });
}

/** The value of `--name` on a command line. */
function flag(line: string, name: string): string | undefined {
  return new RegExp(`--${name}[ =](\\S+)`).exec(line)?.[1];
}

/** The URL a request line asks for. */
function urlOf(step: Step): string {
  return /'(http:\/\/[^']+)'/.exec(step.line)![1];
}

/** The thumbnails key a request URL asks for (as the example builds it). */
function keyOf(url: string): string {
  const u = new URL(url);
  return decodeURIComponent(u.pathname.slice("/thumbnails/".length)) +
    u.search;
}

/** The keys a recipe asks for, with the port of the owner its comment names. */
function claims(steps: Step[]): [key: string, port: number][] {
  return steps.filter((s) => s.kind === "ask").map((step) => [
    keyOf(urlOf(step)),
    Number(/owned by :(\d+)/.exec(step.comment)![1]),
  ]);
}

/** The ports of the recipe's nodes, in order. */
function nodePorts(steps: Step[]): number[] {
  return steps.filter((s) => s.kind === "node").map((s) =>
    Number(flag(s.line, "port"))
  );
}

/** Swaps the recipe's ports in `text` through `ports`. */
function remap(text: string, ports: Map<number, number>): string {
  const swap = (all: string, before: string, p: string) =>
    ports.has(Number(p)) ? `${before}${ports.get(Number(p))}` : all;
  return text.replace(/(127\.0\.0\.1:)(\d+)/g, swap)
    .replace(/(--port )(\d+)/g, swap);
}

/** The recipe's peer list, its ports swapped through `ports`. */
function peersOf(steps: Step[], ports = new Map<number, number>()): string[] {
  const node = steps.find((s) => s.kind === "node")!;
  return remap(flag(node.line, "peers")!, ports).split(",");
}

/**
 * Free ports for the recipe's ports under which every key keeps the owner
 * the README names, so a run shows what the README says it shows.
 */
async function portsKeepingOwners(steps: Step[]): Promise<Map<number, number>> {
  const free = await freePorts(32);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const pick = [...free].sort(() => Math.random() - 0.5);
    const ports = new Map(nodePorts(steps).map((p, i) => [p, pick[i]]));
    const peers = peersOf(steps, ports);
    const kept = claims(steps).every(([key, port]) =>
      ownerOf(key, peers) === `http://127.0.0.1:${ports.get(port)}`
    );
    if (kept) return ports;
  }
  throw new Error("no choice of free ports keeps the README's owners");
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * One `sh` that runs a recipe's lines in turn, as a reader's shell would:
 * its background jobs live on between lines, and each line's output is read
 * up to a marker echoed after it.
 */
class Shell {
  #sh: ChildProcess;
  #out = Buffer.alloc(0);
  #err = "";
  #wake: () => void = () => {};
  #exited = false;

  constructor(env: Record<string, string>) {
    // Its own process group: the test's cleanup can stop it and every job.
    this.#sh = spawn("sh", [], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    this.#sh.stdout!.on("data", (chunk: Buffer) => {
      this.#out = Buffer.concat([this.#out, chunk]);
      this.#wake();
    });
    this.#sh.stderr!.on("data", (chunk: Buffer) => {
      this.#err += chunk.toString();
    });
    this.#sh.once("exit", () => {
      this.#exited = true;
      this.#wake();
    });
  }

  /** What the shell's jobs wrote to stderr so far. */
  get stderr(): string {
    return this.#err;
  }

  /** Runs `line`; resolves with its exit status and its output (bytes). */
  async run(
    line: string,
    timeoutMs: number,
  ): Promise<{ code: number; out: Buffer }> {
    const mark = `::recipe-step-done-${Math.random().toString(36).slice(2)}`;
    this.#sh.stdin!.write(`${line}\necho "${mark} $?"\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.#out.toString("latin1");
      const m = new RegExp(`${mark} (\\d+)\n`).exec(text);
      if (m) {
        const out = this.#out.subarray(0, m.index);
        this.#out = this.#out.subarray(m.index + m[0].length);
        return { code: Number(m[1]), out };
      }
      assert.ok(!this.#exited, `sh exited during: ${line}\n${this.#err}`);
      assert.ok(
        Date.now() < deadline,
        `no end within ${timeoutMs} ms: ${line}\n${this.#err}`,
      );
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  /** Ends the shell, and anything the recipe left running with it. */
  stop(): void {
    this.#sh.stdin!.end();
    try {
      process.kill(-this.#sh.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** A `curl -i` answer, read from its output. */
interface Answer {
  url: string;
  key: string;
  status: number;
  headers: Headers;
  body: Uint8Array;
}

function parseCurl(url: string, out: Buffer): Answer {
  const text = out.toString("latin1");
  const start = text.indexOf("HTTP/");
  const end = text.indexOf("\r\n\r\n", start);
  assert.ok(start >= 0 && end > start, `no HTTP answer for ${url}: ${text}`);
  const [statusLine, ...lines] = text.slice(start, end).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return {
    url,
    key: keyOf(url),
    status: Number(statusLine.split(" ")[1]),
    headers,
    body: new Uint8Array(out.subarray(end + 4)),
  };
}

/** A recipe run: its nodes' URLs by the README's port, each request's answer, all it printed. */
interface Run {
  nodes: Map<number, string>;
  answers: Answer[];
  output: string;
  /** The ports still taken after the recipe's last line. */
  busyAfter: number[];
}

/** The keys a node's getter made, from its `/stats`. */
async function loadedBy(url: string): Promise<string[]> {
  const res = await get(`${url}/stats`);
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text).loaded;
}

/**
 * Runs the recipe `name` before the suite's tests: every line but the last
 * (which stops the nodes) before them, `check` while the nodes run, then the
 * last line; `tests` read the run.
 */
function withRecipe(
  name: string,
  timeoutMs: number,
  check: (run: Run) => Promise<void>,
  tests: (run: () => Run) => void,
): void {
  let shell: Shell | undefined;
  let tmp = "";
  let run: Run | undefined;
  let failure: unknown;
  before(async () => {
    const steps = parseRecipe(recipeText(name));
    const ports = await portsKeepingOwners(steps);
    // The recipe's `mktemp -d` folders land here, removed after.
    tmp = mkdtempSync(join(tmpdir(), "readme-recipe-"));
    const sh = new Shell({ TMPDIR: tmp });
    shell = sh;
    const r: Run = {
      nodes: new Map(
        nodePorts(steps).map((p) => [p, `http://127.0.0.1:${ports.get(p)}`]),
      ),
      answers: [],
      output: "",
      busyAfter: [],
    };
    run = r;
    for (const [i, step] of steps.entries()) {
      const line = remap(step.line, ports);
      if (i === steps.length - 1) {
        // What a reader sees before stopping the nodes, checked now.
        try {
          await check(r);
        } catch (err) {
          failure = err;
        }
      }
      const { code, out } = await sh.run(
        line,
        120_000,
      );
      r.output += out.toString("latin1");
      assert.equal(code, 0, `${line}\n${out}\n${sh.stderr}`);
      if (step.kind === "ask") {
        r.answers.push(parseCurl(urlOf({ ...step, line }), out));
      }
    }
    // Nodes need a moment to close; none should need more than 10 s.
    for (let waited = 0; waited <= 10_000; waited += 100) {
      r.busyAfter = [];
      for (const port of ports.values()) {
        if (await listening(port)) r.busyAfter.push(port);
      }
      if (r.busyAfter.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, { timeout: timeoutMs });
  after(() => {
    shell?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  it("stops every node it started: after its last line its ports are free", () => {
    assert.deepEqual(run!.busyAfter, []);
  });
  it("answers as the README says while its nodes run", () => {
    if (failure !== undefined) throw failure;
  });
  tests(() => run!);
}

describe("the README on jsr.io and GitHub", () => {
  const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md"));
  const pages = ["README.md", ...docs.map((f) => `docs/${f}`)];

  /** Whether `path` (from the package root) is in a published file or folder. */
  const published = (path: string) =>
    PUBLISHED.some((p) => p.endsWith("/") ? path.startsWith(p) : path === p);

  for (const page of pages) {
    it(`${page} links only to absolute URLs or to files the package publishes`, () => {
      const text = readFileSync(join(root, page), "utf8");
      const dir = page.includes("/")
        ? page.slice(0, page.lastIndexOf("/"))
        : "";
      const targets = [
        ...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)[^)]*\)/g),
        ...text.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm),
        ...text.matchAll(/\b(?:href|src)="([^"]+)"/g),
      ].map((m) => m[1]);
      for (const target of targets) {
        if (/^https:\/\//.test(target)) continue;
        // jsr.io leaves "/…" and "#…" as they are (a 404, or nothing there),
        // and resolves the rest against the package's root.
        assert.doesNotMatch(
          target,
          /^[/#]|^\.\//,
          `${page}: a link to ${target}`,
        );
        const path = new URL(
          target.replace(/#.*/, ""),
          `file:///${dir ? dir + "/" : ""}`,
        )
          .pathname.slice(1);
        assert.ok(
          existsSync(join(root, path)),
          `${page}: ${target} is missing`,
        );
        assert.ok(published(path), `${page}: ${target} is not published`);
      }
    });
  }

  it("publishes the pages it links to, and is at most 350 lines", () => {
    for (const page of pages) assert.ok(published(page), page);
    assert.ok(README.split("\n").length <= 350, "README.md is over 350 lines");
  });
});

for (
  const [name, count] of [["two nodes", 2], ["three runtimes", 3]] as const
) {
  it(`the README's ${name} recipe gives every node the same peer list, its own URL included`, () => {
    const nodes = parseRecipe(recipeText(name)).filter((s) =>
      s.kind === "node"
    );
    assert.equal(nodes.length, count);
    const lists = nodes.map((s) => flag(s.line, "peers"));
    for (const [i, s] of nodes.entries()) {
      assert.equal(lists[i], lists[0], s.line);
      assert.ok(
        lists[i]!.split(",").includes(
          `http://127.0.0.1:${flag(s.line, "port")}`,
        ),
        s.line,
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

  it(`the README's ${name} recipe waits for its nodes, then stops them by PID`, () => {
    const steps = parseRecipe(recipeText(name));
    const first = steps.findIndex((s) => s.kind === "ask");
    const wait = steps.slice(0, first).findLast((s) =>
      /--retry-connrefused/.test(s.line)
    );
    assert.ok(wait, "a curl --retry-connrefused before the first request");
    for (const port of nodePorts(steps)) {
      assert.ok(
        wait.line.includes(`127.0.0.1:${port}/`),
        `it waits for :${port}`,
      );
    }
    const pids = steps.filter((s) => s.kind === "node").map((s) =>
      /&\s*(\w+)=\$!/.exec(s.line)?.[1]
    );
    assert.ok(pids.every((p) => p !== undefined), "each node's PID saved");
    assert.equal(
      steps.at(-1)!.line.trim(),
      `kill ${pids.map((p) => `$${p}`).join(" ")}`,
    );
  });
}

describe(`the README's two nodes recipe, run (from ${runtimeName()})`, () => {
  withRecipe("two nodes", 180_000, async (run) => {
    const [[portA, a], [, b]] = [...run.nodes];
    const made: string[] = [];
    const owners = new Map(claims(parseRecipe(recipeText("two nodes"))));
    assert.equal(run.answers.length, 3);
    for (const { url, key, status, headers, body } of run.answers) {
      const text = new TextDecoder().decode(body);
      assert.ok(url.startsWith(b), "each request goes to B");
      if (owners.get(key) === portA) {
        assert.equal(status, 200, `${key}: ${text}`);
        assert.equal(headers.get("x-groupcache-owner"), a);
        const fmt = new URL(url).searchParams.get("fmt") ?? "jpeg";
        assert.equal(headers.get("content-type"), `image/${fmt}`);
        made.push(key);
      } else {
        assert.equal(status, 404, `${key}: ${text}`);
        assert.equal(text, `no image big-file.jpg on ${b}\n`);
      }
    }
    assert.ok(made.length > 0 && made.length < 3, "both kinds of key");
    assert.deepEqual(await loadedBy(a), made);
    assert.deepEqual(await loadedBy(b), []);
  }, () => {});
});

describe(`the README's three runtimes recipe, run (from ${runtimeName()}): Bun, Deno and Node 22.18`, () => {
  const owners = () => claims(parseRecipe(recipeText("three runtimes")));
  withRecipe("three runtimes", 240_000, async (run) => {
    for (const { key, url, status, body } of run.answers) {
      assert.equal(status, 200, url);
      const { pathname, search } = new URL(url);
      for (const node of run.nodes.values()) {
        const again = await get(`${node}${pathname}${search}`);
        assert.equal(again.status, 200, `${key} via ${node}`);
        assert.deepEqual(again.body, body, `${key} via ${node}`);
      }
    }
    for (const [port, node] of run.nodes) {
      assert.deepEqual(
        (await loadedBy(node)).sort(),
        owners().filter(([, p]) => p === port).map(([key]) => key).sort(),
        `${node} made each key it owns, once, and no other`,
      );
    }
  }, (run) => {
    it("runs one node on each runtime", () => {
      const said = [...run().output.matchAll(/listening on \S+ \((\w+)\)/g)]
        .map((m) => m[1]);
      assert.deepEqual(said.sort(), ["bun", "deno", "node"]);
    });
  });
});
