// Process helpers for the benchmarks that start servers, Go programs and wrk:
// command-line flags, re-running a script under the current runtime, child
// processes that are always killed when the benchmark ends (also on failure),
// CPU pinning with taskset, wrk's output, percentiles. Runs under Deno and Bun.
import {
  type ChildProcess,
  spawn,
  spawnSync,
  type SpawnSyncReturns,
} from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";

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

// The runtime running this script ("deno", "bun" or "node"), as the examples tell it.
export { runtimeName } from "../examples/serve.ts";

/**
 * The command that runs `script` (a path) under the current runtime, by the
 * runtime's own executable path (Deno's node:child_process mishandles a bare
 * "deno").
 */
export function runtimeCommand(
  script: string,
  scriptArgs: string[] = [],
): [string, string[]] {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (deno !== undefined) {
    return [deno.execPath(), ["run", "-A", script, ...scriptArgs]];
  }
  return [process.execPath, [script, ...scriptArgs]];
}

/** An absolute path of a file next to this one. */
export function benchPath(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}

/** True when `cmd` can be started (whatever it then exits with). */
export function hasCommand(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).error === undefined;
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

const children = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
  }
  children.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** A child process that printed its `listening ADDR` line. */
export interface Server {
  /** The address it printed, e.g. "127.0.0.1:40123" or "40123". */
  readonly address: string;
  readonly pid: number;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `cmd args` and resolves once it prints `listening ADDR` on a line of
 * its own. The child's stdin is a pipe this process holds, so a child that
 * watches it can exit when this process dies; it is killed on this
 * process's exit in any case.
 */
export function startServer(
  cmd: string,
  cmdArgs: string[],
  env?: Record<string, string>,
  timeoutMs = 20_000,
): Promise<Server> {
  hookExit();
  const child = spawn(cmd, cmdArgs, {
    stdio: ["pipe", "pipe", "pipe"],
    env: env === undefined ? process.env : { ...process.env, ...env },
  });
  children.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      children.delete(child);
      resolve();
    });
  });
  let stdout = "", stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => {
    if (stderr.length < 1 << 16) stderr += s;
  });
  const what = `${cmd} ${cmdArgs.join(" ")}`;
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      setTimeout(() => reject(new Error(`${what}: ${why}\n${stderr}`)), 50);
    };
    const timer = setTimeout(
      () => fail(`no "listening" line within ${timeoutMs} ms`),
      timeoutMs,
    );
    child.once("error", (err) => fail(`could not start: ${err.message}`));
    child.once("exit", (code, signal) => {
      fail(`exited before listening (code ${code}, signal ${signal})`);
    });
    child.stdout!.on("data", (s: string) => {
      stdout += s;
      const m = /^listening (\S+)$/m.exec(stdout);
      if (m === null || done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        address: m[1],
        pid: child.pid!,
        stderr: () => stderr,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
  });
}

/** Runs a command to completion; throws with its stderr when it fails. */
export function runSync(
  cmd: string,
  cmdArgs: string[],
  env?: Record<string, string>,
): string {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, cmdArgs, {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: env === undefined ? process.env : { ...process.env, ...env },
  });
  if (r.error !== undefined) {
    throw new Error(`${cmd}: could not start: ${r.error.message}`);
  }
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${cmdArgs.join(" ")} exited with ${r.status ?? r.signal}:\n` +
        r.stderr,
    );
  }
  return r.stdout;
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
  },
): WrkResult {
  const [cmd, cmdArgs] = pinned(options.cpus, "wrk", [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--latency",
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
}

/** The markdown comment that carries `t` (see bench/run.ts). */
export function targetComment(t: Target): string {
  return `<!-- target ${JSON.stringify(t)} -->`;
}
