// The benchmarks' own helpers around processes: command-line flags, CPU
// pinning with taskset, CPU time from /proc, wrk's output, percentiles and
// the target lines of bench/run.ts. Starting and stopping child processes,
// Go programs and free ports come from tests/_dev/. Runs under Deno and Bun.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { runSync } from "../tests/_dev/proc.ts";

/** The script's command-line arguments. */
export function args(): string[] {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return g.Deno?.args ?? process.argv.slice(2);
}

/** True when `--name` was given. */
export function flag(name: string): boolean {
  return args().includes(`--${name}`);
}

/** The value after `--name`, or `fallback`. */
export function numberOption(name: string, fallback: number): number {
  const all = args();
  const at = all.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(all[at + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`--${name} wants a positive number`);
  }
  return value;
}

/** An absolute path of a file next to this one. */
export function benchPath(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}

let tasksetChecked: boolean | undefined;
/** True when `taskset` (util-linux) runs and the machine has two CPUs or more. */
export function canPin(): boolean {
  if (tasksetChecked === undefined) {
    const r = spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    const cpus = spawnSync("nproc", [], { encoding: "utf8" });
    tasksetChecked = r.status === 0 && Number(cpus.stdout) >= 2;
  }
  return tasksetChecked;
}

/** Where a wrk benchmark runs its servers and wrk on a two-core machine. */
export interface CpuMode {
  /** "pinned" (the fair setup, what targets are judged on) or "stock". */
  name: "pinned" | "stock";
  /** The servers' CPUs ("0"), or undefined for wherever the kernel puts them. */
  serverCpus: string | undefined;
  /** wrk's CPUs ("1"), or undefined. */
  wrkCpus: string | undefined;
  /** The setup, in words, for the results. */
  describe: string;
}

/**
 * The setups a wrk benchmark runs: "pinned" (servers on CPU 0, wrk on CPU 1)
 * when `taskset` and two CPUs are there, and "stock" (nothing pinned) unless
 * `quick` and pinned runs are possible.
 */
export function cpuModes(
  quick: boolean,
  describe: { pinned: string; stock: string },
): CpuMode[] {
  const modes: CpuMode[] = [];
  if (canPin()) {
    modes.push({
      name: "pinned",
      serverCpus: "0",
      wrkCpus: "1",
      describe: describe.pinned,
    });
  } else {
    console.error("taskset or a second CPU is missing: no pinned runs.");
  }
  if (!quick || modes.length === 0) {
    modes.push({
      name: "stock",
      serverCpus: undefined,
      wrkCpus: undefined,
      describe: describe.stock,
    });
  }
  return modes;
}

/** `[cmd, args]` run on the CPUs `cpus` (e.g. "0"), or as is when undefined. */
export function pinned(
  cpus: string | undefined,
  cmd: string,
  cmdArgs: string[],
): [string, string[]] {
  return cpus === undefined
    ? [cmd, cmdArgs]
    : ["taskset", ["-c", cpus, cmd, ...cmdArgs]];
}

/** Moves every thread of this process onto `cpus` (new threads inherit it). */
export function pinSelf(cpus: string): void {
  const r = spawnSync("taskset", ["-a", "-cp", cpus, String(process.pid)], {
    encoding: "utf8",
  });
  if (r.status !== 0) {
    throw new Error(`taskset -a -cp ${cpus} failed: ${r.stderr}`);
  }
}

let clockTicks: number | undefined;
/**
 * CPU seconds (user + system, all threads) that process `pid` has used, from
 * /proc; `undefined` where there is no /proc.
 */
export function cpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  clockTicks ??= Number(
    spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout,
  ) || 100;
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** What one wrk run measured. */
export interface WrkResult {
  requestsPerSec: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  requests: number;
}

/** Runs wrk (with `--latency`) and parses requests/s, p50 and p99. */
export function wrk(
  url: string,
  options: {
    threads: number;
    connections: number;
    seconds: number;
    cpus?: string;
    /** Request headers, sent with every request. */
    headers?: Record<string, string>;
  },
): WrkResult {
  const headers = Object.entries(options.headers ?? {}).flatMap((
    [name, value],
  ) => ["-H", `${name}: ${value}`]);
  const [cmd, cmdArgs] = pinned(options.cpus, "wrk", [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--latency",
    ...headers,
    url,
  ]);
  const out = runSync(cmd, cmdArgs);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const total = /^\s*(\d+) requests in /m.exec(out);
  if (rps === null || total === null) {
    throw new Error(`cannot read wrk's output:\n${out}`);
  }
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (bad !== null) {
    throw new Error(`${bad[1]} responses from ${url} were not 200:\n${out}`);
  }
  const errors = /Socket errors: (.*)/.exec(out);
  if (errors !== null && /[1-9]/.test(errors[1].replace(/timeout 0/, ""))) {
    throw new Error(`wrk saw socket errors against ${url}:\n${out}`);
  }
  return {
    requestsPerSec: Number(rps[1]),
    p50: wrkLatency(out, "50%"),
    p99: wrkLatency(out, "99%"),
    requests: Number(total[1]),
  };
}

function wrkLatency(out: string, label: string): number {
  const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, "m")
    .exec(out);
  if (m === null) throw new Error(`wrk printed no ${label} latency:\n${out}`);
  const scale = m[2] === "us" ? 1e-3 : m[2] === "ms" ? 1 : 1e3;
  return Number(m[1]) * scale;
}

/** The `p`-th percentile (0..100) of ascending `sorted`, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError("percentile: no samples");
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** A target line for bench/run.ts to collect: hidden in an HTML comment. */
export interface Target {
  bench: string;
  runtime: string;
  /** e.g. "≥ 1.0× Go ByteViewSink". */
  target: string;
  ratio: number;
  needed: number;
  /** Anything the reader of the summary should know, e.g. a second ratio. */
  note?: string;
  /** What was measured: keys, value size, distribution, callers. */
  workload?: string;
}

/** The markdown comment that carries `t` (see bench/run.ts). */
export function targetComment(t: Target): string {
  return `<!-- target ${JSON.stringify(t)} -->`;
}
