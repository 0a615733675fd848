// The test task: the whole suite under Deno and under Bun, plus the doc
// examples (`deno test --doc`), then one closing line with the totals.
// Usage: deno run -A tests/run.ts [deno|bun|node ...]
import process from "node:process";
import { findBun } from "./_dev/runtimes.ts";

type Outcome = {
  name: string;
  passed: number;
  failed: number;
  ok: boolean;
  failures?: string[];
};

async function run(
  name: string,
  cmd: string,
  args: string[],
  parse: (out: string) => [number, number],
): Promise<Outcome> {
  console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    console.error(`${name}: could not start ${cmd}: ${(err as Error).message}`);
    return { name, passed: 0, failed: 1, ok: false };
  }
  // Both streams pass through as they come: copied one after the other, a
  // runner's warnings (its stderr) landed after its pass summary (stdout).
  const [stdout, stderr] = await Promise.all([
    relay(child.stdout, Deno.stdout),
    relay(child.stderr, Deno.stderr),
  ]);
  const { code } = await child.status;
  const [passed, failed] = parse(stdout + "\n" + stderr);
  return {
    name,
    passed,
    failed,
    ok: code === 0 && failed === 0 && passed > 0,
    failures: failureLines(stdout + "\n" + stderr),
  };
}

/** Writes `from` to `to` as it arrives; resolves with all of it as text. */
async function relay(
  from: ReadableStream<Uint8Array>,
  to: { writeSync(p: Uint8Array): number },
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of from) {
    for (let at = 0; at < chunk.length;) {
      at += to.writeSync(chunk.subarray(at));
    }
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * The lines that name a failed test in each runner's output, repeated at the
 * end so that a log's tail says which test failed (CI keeps only the tail).
 */
function failureLines(out: string): string[] {
  // deno-lint-ignore no-control-regex
  const clean = out.replace(/\x1b\[[0-9;]*m/g, "");
  return [
    ...new Set(
      clean.split("\n").filter((line) =>
        /^\(fail\) /.test(line) || // bun
        /^\s*not ok \d+ - /.test(line) || // node --test (TAP)
        /^.+ => \S+:\d+:\d+$/.test(line) // deno's FAILURES list
      ),
    ),
  ].slice(0, 40);
}

// deno: "ok | 12 passed (40 steps) | 0 failed"
function parseDeno(out: string): [number, number] {
  // deno-lint-ignore no-control-regex
  const clean = out.replace(/\x1b\[[0-9;]*m/g, "");
  const m = [
    ...clean.matchAll(
      /\| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/g,
    ),
  ].pop();
  if (!m) return [0, 1];
  return [Number(m[1]) + Number(m[2] ?? 0), Number(m[3]) + Number(m[4] ?? 0)];
}

// bun: " 12 pass" / " 0 fail"
function parseBun(out: string): [number, number] {
  const pass = [...out.matchAll(/^\s*(\d+) pass$/gm)].pop();
  const fail = [...out.matchAll(/^\s*(\d+) fail$/gm)].pop();
  if (!pass || !fail) return [0, 1];
  return [Number(pass[1]), Number(fail[1])];
}

// node --test: "# pass 12" / "# fail 0"
function parseNode(out: string): [number, number] {
  const pass = [...out.matchAll(/^# pass (\d+)$/gm)].pop();
  const fail = [...out.matchAll(/^# fail (\d+)$/gm)].pop();
  if (!pass || !fail) return [0, 1];
  return [Number(pass[1]), Number(fail[1])];
}

const wanted = new Set(process.argv.slice(2));
const all = wanted.size === 0;
const outcomes: Outcome[] = [];
if (all || wanted.has("deno")) {
  outcomes.push(
    await run(
      "deno",
      "deno",
      ["test", "-A", "--doc", "mod.ts", "cli.ts", "src/", "tests/"],
      parseDeno,
    ),
  );
}
if (all || wanted.has("bun")) {
  outcomes.push(
    await run(
      "bun",
      findBun() ?? "bun",
      ["test", "--timeout", "120000", "tests/"],
      parseBun,
    ),
  );
}
if (all || wanted.has("node")) {
  outcomes.push(
    bundleForNode() ?? await run(
      "node",
      "node",
      ["tests/.out/node/run.bundle.mjs"],
      parseNode,
    ),
  );
}

/**
 * Node 20 cannot run TypeScript: bundles tests/node/run.ts and the example it
 * starts, examples/thumbnails.ts, with Bun into tests/.out/node/ (as
 * *.bundle.mjs, so `deno test tests/` does not pick them up). npm packages
 * stay imports (sharp loads a native library; a bundle cannot hold it). A
 * failed bundling is the node run's outcome.
 */
function bundleForNode(): Outcome | undefined {
  const bun = findBun() ?? "bun";
  const args = [
    "build",
    "tests/node/run.ts",
    "examples/thumbnails.ts",
    "--target=node",
    "--packages=external",
    "--outdir=tests/.out/node",
    "--entry-naming=[name].bundle.mjs",
  ];
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command(bun, { args, stdout: "piped", stderr: "piped" })
      .outputSync();
  } catch (err) {
    console.error(`node: could not start ${bun}: ${(err as Error).message}`);
    return { name: "node", passed: 0, failed: 1, ok: false };
  }
  if (out.code === 0) return undefined;
  console.error(
    `node: bundling failed: ${bun} ${args.join(" ")}\n` +
      new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr),
  );
  return { name: "node", passed: 0, failed: 1, ok: false };
}

let passed = 0, failed = 0;
for (const o of outcomes) {
  passed += o.passed;
  failed += o.failed;
  console.log(
    `${
      o.ok ? "ok  " : "FAIL"
    } ${o.name}: ${o.passed} passed, ${o.failed} failed`,
  );
  if (!o.ok && o.failed === 0) failed++; // a runner that crashed or ran nothing counts as a failure
  for (const line of o.failures ?? []) {
    console.log(`  ${o.name}: ${line.trim()}`);
  }
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
