// The bench task: every bench/*_bench.ts under Deno and under Bun, then
// bench/README.md assembled from bench/results/*.md with the machine, the
// versions, and a table of the targets (each bench states its own in
// `<!-- target {...} -->` comments, see targetComment in bench/_proc.ts).
//
// Usage: deno run -A bench/run.ts [--quick] [NAME ...] [deno] [bun]
//   --quick   a smoke run: each bench gets `--quick --rounds 2` (fewer
//             rounds and operations, 1 s wrk runs)
//   NAME      run only these benches (group, serve, client, cluster, lru, ...)
//   deno/bun  run only under these runtimes
//   --rounds N, --rounds NAME=N
//             rounds for every bench, or for one (a full run that fits a
//             time budget, e.g. --rounds 3 --rounds handoff=1)
//   --readme  only reassemble bench/README.md, docs/benchmarks.md's and the
//             README's tables from the result files
// Exits non-zero if a bench failed; README.md is written in any case.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import process from "node:process";
import { root } from "../tests/_dev/paths.ts";
import { findBun, runtimeCommand } from "../tests/_dev/runtimes.ts";
import type { Target } from "./_proc.ts";

const dir = decodeURIComponent(new URL(".", import.meta.url).pathname);
const argv = Deno.args;
const quick = argv.includes("--quick");
const readmeOnly = argv.includes("--readme");
// --rounds takes a value: "N" for every bench, "NAME=N" for one.
const roundsFor = new Map<string, string>();
for (const [i, a] of argv.entries()) {
  if (a !== "--rounds") continue;
  const [name, n] = (argv[i + 1] ?? "").includes("=")
    ? argv[i + 1].split("=")
    : ["*", argv[i + 1]];
  if (!/^\d+$/.test(n ?? "")) {
    console.error(`--rounds ${argv[i + 1] ?? ""}: give N or NAME=N`);
    Deno.exit(2);
  }
  roundsFor.set(name, n);
}
const words = argv.filter((a, i) =>
  !a.startsWith("--") && argv[i - 1] !== "--rounds"
);
const runtimes = (["deno", "bun"] as const).filter((r) =>
  !words.some((w) => w === "deno" || w === "bun") || words.includes(r)
);
const names = words.filter((w) => w !== "deno" && w !== "bun");

const benches = readdirSync(dir)
  .filter((f) => f.endsWith("_bench.ts"))
  .map((f) => f.slice(0, -"_bench.ts".length))
  .sort((a, b) => order(a) - order(b) || a.localeCompare(b));
for (const name of names) {
  if (!benches.includes(name)) {
    console.error(`no bench/${name}_bench.ts; there are: ${benches.join(" ")}`);
    Deno.exit(2);
  }
}

/**
 * Benches that compare runtimes themselves, or whose contenders are all Node
 * processes (they bundle themselves for Node): run once, under Deno.
 */
const runOnce = new Set(["cluster", "node"]);

/** Where a bench (or its result file) goes: ours first, then primitives. */
function order(name: string): number {
  const first = [
    "group",
    "memory",
    "serve",
    "client",
    "cluster",
    "handoff",
    "batch",
    "node",
    "status",
    "hash_ring",
    "crc32",
    "lru",
  ];
  const i = first.findIndex((f) => name === f || name.startsWith(f + "_"));
  return i < 0 ? first.length : i;
}

function capture(cmd: string, args: string[]): string {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" })
      .outputSync();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

const failures: string[] = [];
const ran = new Set<string>();
const loadBefore = os.loadavg();
const started = performance.now();
if (!readmeOnly) {
  for (const name of benches) {
    if (names.length > 0 && !names.includes(name)) continue;
    for (const runtime of runtimes) {
      // It starts nodes of every runtime itself: once, under Deno.
      if (runOnce.has(name) && runtime !== "deno") continue;
      const rounds = roundsFor.get(name) ?? roundsFor.get("*") ??
        (quick ? "2" : undefined);
      const extra = [
        ...(quick ? ["--quick"] : []),
        ...(rounds === undefined ? [] : ["--rounds", rounds]),
      ];
      const [cmd, args] = runtimeCommand(
        `bench/${name}_bench.ts`,
        extra,
        runtime,
      );
      console.log(`\n=== ${name} under ${runtime}: ${args.join(" ")}`);
      const t0 = performance.now();
      ran.add(name);
      let code: number;
      try {
        code = new Deno.Command(cmd, {
          args,
          cwd: root,
          stdin: "null",
          stdout: "inherit",
          stderr: "inherit",
        }).outputSync().code;
      } catch (err) {
        console.error(`could not start ${cmd}: ${(err as Error).message}`);
        code = -1;
      }
      const secs = ((performance.now() - t0) / 1000).toFixed(0);
      if (code !== 0) failures.push(`${name} under ${runtime} (exit ${code})`);
      console.log(`=== ${name} under ${runtime}: exit ${code}, ${secs} s`);
    }
  }
}
const loadAfter = os.loadavg();

// bench/README.md
const resultsDir = `${dir}results/`;
const files = readdirSync(resultsDir)
  .filter((f) => f.endsWith(".md"))
  .sort((a, b) => {
    const base = (f: string) => f.replace(/\.md$/, "");
    const baseline = (f: string) => f.startsWith("go_baseline") ? 1 : 0;
    return baseline(a) - baseline(b) || order(base(a)) - order(base(b)) ||
      a.localeCompare(b);
  });
const targets: Target[] = [];
const sections: string[] = [];
for (const file of files) {
  const text = readFileSync(resultsDir + file, "utf8");
  for (const m of text.matchAll(/<!-- target (\{.*\}) -->/g)) {
    targets.push(JSON.parse(m[1]));
  }
  const body = text
    .replace(/^<!-- target .* -->\n?/gm, "")
    .replace(/^<!-- \/?[\w:-]+ -->\n?/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  sections.push(`<!-- from bench/results/${file} -->\n\n${body}`);
}

const cpuModel = (() => {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    return /^model name\s*:\s*(.*)$/m.exec(info)?.[1].trim() ?? "unknown";
  } catch {
    return os.cpus()[0]?.model ?? "unknown";
  }
})();
const nproc = capture("nproc", []) || String(os.cpus().length);
const bunVersion = capture(findBun() ?? "bun", ["--version"]);
const goVersion = capture("go", ["version"]);
const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(", ");

const summary = targets.length === 0 ? "No targets found." : [
  "| benchmark | runtime | target | ours ÷ rival | status | note |",
  "| --- | --- | --- | ---: | --- | --- |",
  ...targets.map((t) =>
    `| ${t.bench} | ${t.runtime} | ${t.target} | ${t.ratio.toFixed(2)}× | ${
      t.ratio >= t.needed ? "met" : "**missed**"
    } | ${t.note ?? ""} |`
  ),
].join("\n");

// Reassembled only (--readme): the lines of the run that measured (its
// load, date and length) stay. A run of some benches only keeps the last
// full run's lines and adds a line naming what it reran, so the page never
// calls a partial run full.
const lastRun = /^- Machine: .*\n- Runtimes: .*\n- Date: .*(?:\n- Rerun: .*)*$/m
  .exec(readFileSync(`${dir}README.md`, "utf8"));
const rounds = roundsFor.size > 0
  ? ` (rounds: ${
    [...roundsFor].map(([k, v]) => k === "*" ? v : `${k} ${v}`).join(", ")
  })`
  : "";
const minutes = `${((performance.now() - started) / 60000).toFixed(1)} min`;
const today = new Date().toISOString().slice(0, 10);
const machineLines =
  `- Machine: ${nproc} × ${cpuModel}, ${os.platform()} ${os.arch()}, ${
    (os.totalmem() / 2 ** 30).toFixed(0)
  } GiB; load average ${fmtLoad(loadBefore)} before the run, ${
    fmtLoad(loadAfter)
  } after (other jobs share the machine, so read the medians and the spread).
- Runtimes: Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), Bun ${
    bunVersion || "not found"
  }; ${goVersion || "Go not found"}.`;
const runLines = readmeOnly && lastRun !== null
  ? lastRun[0]
  : names.length > 0 && !quick && lastRun !== null
  ? `${lastRun[0]}\n- Rerun: ${names.join(", ")}${
    runtimes.length === 1 ? ` under ${runtimes[0]}` : ""
  } on ${today}${rounds}, ${minutes}; load average ${
    fmtLoad(loadBefore)
  } before, ${fmtLoad(loadAfter)} after.`
  : `${machineLines}
- Date: ${today}${
    readmeOnly
      ? ""
      : `; ${quick ? "quick run" : "full run"}${rounds}, ${minutes}`
  }.`;
const readme = `# Benchmarks

Generated by \`deno task bench\` (bench/run.ts) from the sections in
bench/results/; each section names the runtime and the script that produced
it, and says \`--quick\` when it came from a smoke run.

${runLines}

To reproduce (needs Go, golang-github-golang-groupcache-dev, wrk and
taskset; Bun from \`npm install\`):

\`\`\`sh
npx -y deno@2.9.6 task bench              # everything, under Deno and Bun
npx -y deno@2.9.6 task bench --quick      # a fast smoke run
npx -y deno@2.9.6 task bench group serve  # some benches only
\`\`\`

## Targets

${summary}

## Results

${sections.join("\n\n")}
`;
writeFileSync(`${dir}README.md`, readme);

/** The targets the README's table shows, by bench name. */
const HEADLINES = [
  /^group\.get hit, 1(0,000|,000,000) keys uniform/,
  /^peer serving, requests\/s \(wrk/,
  /^peer serving, server CPU µs\/request vs the runtime's fixed body/,
  /^remote group\.get CPU ÷ Go's client, 64/,
  /^[39]-node cluster, (cold|cold cache|warm), requests\/s \(stock\)/,
  /^memory: RSS per entry vs Go/,
];

// The user-facing summaries, regenerated from the same targets: every
// target in docs/benchmarks.md, the headline ones in README.md.
const nodeVersion = capture("node", ["--version"]).replace(/^v/, "");
const versions = `Deno ${Deno.version.deno}, Bun ${bunVersion || "?"}, ` +
  `Node ${nodeVersion || "?"}; ${
    goVersion.replace(/^go version /, "").replace(/ .*$/, "")
  } for Go`;
const measuredOn = `Measured on ${nproc} × ${cpuModel}, ${
  new Date().toISOString().slice(0, 10)
} (${versions}).`;
const docsPage = `${root}/docs/benchmarks.md`;
const readmePage = `${root}/README.md`;
replaceGenerated(docsPage, `${measuredOn}\n\n${summaryTable(targets)}`);
replaceGenerated(
  readmePage,
  summaryTable(targets.filter((t) => HEADLINES.some((h) => h.test(t.bench)))),
);
// Keep `deno fmt --check` clean: the benches write unaligned tables. Only
// the files of the benches that ran (others may be editing theirs).
const written = files.filter((f) =>
  [...ran].some((name) => f === `${name}.md` || f.startsWith(`${name}_`))
).map((f) => resultsDir + f);
new Deno.Command(Deno.execPath(), {
  args: ["fmt", "--quiet", `${dir}README.md`, docsPage, readmePage, ...written],
  cwd: root,
}).outputSync();
console.log(`\nwrote bench/README.md (${targets.length} targets)`);
if (failures.length > 0) {
  console.error(`failed: ${failures.join("; ")}`);
  process.exit(1);
}

/**
 * A table of `list`, one row per benchmark, one column per runtime: the
 * ratio against the rival (as bench/README.md's), bold when it misses. A
 * target that differs between runtimes is named per runtime.
 */
function summaryTable(list: Target[]): string {
  const title = (r: string) => r[0].toUpperCase() + r.slice(1);
  const columns = ["deno", "bun", "node"].filter((r) =>
    list.some((t) => t.runtime.startsWith(r))
  );
  const rows = new Map<string, Map<string, Target>>();
  for (const t of list) {
    const row = rows.get(t.bench) ?? new Map<string, Target>();
    rows.set(t.bench, row);
    row.set(columns.find((c) => t.runtime.startsWith(c))!, t);
  }
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(["benchmark", "workload", "target", ...columns.map(title)]),
    line(["---", "---", "---", ...columns.map(() => "---:")]),
    ...[...rows].map(([bench, row]) => {
      const ts = [...row.values()];
      const targetsDiffer = new Set(ts.map((t) => t.target)).size > 1;
      const target = targetsDiffer
        ? columns.filter((c) => row.has(c))
          .map((c) => `${title(c)} ${row.get(c)!.target}`).join("; ")
        : ts[0].target;
      return line([
        bench,
        ts.find((t) => t.workload)?.workload ?? "",
        target,
        ...columns.map((c) => {
          const t = row.get(c);
          if (t === undefined) return "—";
          const cell = `${t.ratio.toFixed(2)}×`;
          return t.ratio >= t.needed ? cell : `**${cell}** missed`;
        }),
      ]);
    }),
  ].join("\n");
}

/** Replaces what sits between the generated-summary markers of `file`. */
function replaceGenerated(file: string, body: string): void {
  const start = "<!-- bench:summary (bench/run.ts writes this) -->";
  const end = "<!-- /bench:summary -->";
  const text = readFileSync(file, "utf8");
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} has no ${start} … ${end}`);
  writeFileSync(
    file,
    `${text.slice(0, a + start.length)}\n\n${body}\n\n${text.slice(b)}`,
  );
}
