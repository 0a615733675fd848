// Shared helpers for the benchmark scripts: timed rounds, min/median/max,
// runtime detection and markdown sections. Runs under Deno, Bun and Node.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import * as os from "node:os";

/** Summary of a list of samples. */
export interface Stats {
  min: number;
  median: number;
  max: number;
  mean: number;
}

/** Min, median, max and mean of `samples` (which must not be empty). */
export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new RangeError("stats: no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { min: s[0], median, max: s[s.length - 1], mean };
}

/** Options for {@linkcode measure}. */
export interface MeasureOptions {
  /** Timed rounds (default 7). */
  rounds?: number;
  /** Target duration of one round in milliseconds (default 250). */
  minMs?: number;
  /** Untimed warm-up before calibration, in milliseconds (default 100). */
  warmupMs?: number;
  /** Bytes processed per operation; when set, MB/s is reported too. */
  bytesPerOp?: number;
}

/** What {@linkcode measure} found. Throughput stats are over rounds. */
export interface Measurement {
  name: string;
  /** Operations per timed round. */
  iterations: number;
  /** Operations per second, one sample per round. */
  opsPerSec: Stats;
  /** Nanoseconds per operation, one sample per round. */
  nsPerOp: Stats;
  /** MB/s (10^6 bytes) when `bytesPerOp` was given. */
  mbPerSec?: Stats;
  /** Raw ops/s of each round, in order. */
  samples: number[];
}

/**
 * Times `fn`. `fn(n)` must perform `n` operations itself (so the harness adds
 * no per-operation call) and should return something derived from the work,
 * which is kept in a sink so the JIT cannot drop it. The iteration count is
 * calibrated so that one round takes about `minMs`; each of `rounds` rounds
 * then gives one ops/s sample.
 */
export function measure(
  name: string,
  fn: (n: number) => unknown,
  options: MeasureOptions = {},
): Measurement {
  return measureAll([{ name, fn, bytesPerOp: options.bytesPerOp }], options)[0];
}

/** One contender for {@linkcode measureAll}. */
export interface Case {
  name: string;
  /** Performs `n` operations; see {@linkcode measure}. */
  fn: (n: number) => unknown;
  /** Bytes per operation, for MB/s. */
  bytesPerOp?: number;
}

/**
 * Like {@linkcode measure} for several contenders, with their rounds
 * interleaved (round 1 of each, then round 2 of each, …) so that a burst of
 * noise on a shared machine hits all of them rather than one.
 */
export function measureAll(
  cases: readonly Case[],
  options: Omit<MeasureOptions, "bytesPerOp"> = {},
): Measurement[] {
  const rounds = options.rounds ?? 7;
  const minMs = options.minMs ?? 250;
  const warmupMs = options.warmupMs ?? 100;

  const counts = cases.map(({ fn }) => {
    let n = 1;
    const warmEnd = performance.now() + warmupMs;
    while (performance.now() < warmEnd) sink(fn(n));
    // Calibrate: grow n until one call takes at least a tenth of a round.
    for (;;) {
      const t0 = performance.now();
      sink(fn(n));
      const dt = performance.now() - t0;
      if (dt >= minMs / 10) return Math.max(1, Math.round((n * minMs) / dt));
      n *= dt < minMs / 100 ? 10 : 2;
    }
  });

  const samples: number[][] = cases.map(() => []);
  for (let r = 0; r < rounds; r++) {
    cases.forEach(({ fn }, j) => {
      const t0 = performance.now();
      sink(fn(counts[j]));
      const dt = performance.now() - t0;
      samples[j].push((counts[j] * 1000) / dt);
    });
  }

  return cases.map(({ name, bytesPerOp }, j) => {
    const ops = stats(samples[j]);
    const result: Measurement = {
      name,
      iterations: counts[j],
      opsPerSec: ops,
      nsPerOp: stats(samples[j].map((s) => 1e9 / s)),
      samples: samples[j],
    };
    if (bytesPerOp !== undefined) {
      result.mbPerSec = stats(samples[j].map((s) => (s * bytesPerOp) / 1e6));
    }
    return result;
  });
}

let sinkValue: unknown;
/** Keeps `value` alive so the optimiser cannot treat its computation as dead. */
export function sink(value: unknown): void {
  if (value === sinkValue) return;
  sinkValue = value;
}

/** The JavaScript runtime and the machine a benchmark ran on. */
export interface RuntimeInfo {
  /** "deno", "bun" or "node". */
  runtime: string;
  /** Runtime version, e.g. "2.9.6". */
  version: string;
  /** Engine and version, e.g. "V8 15.0.245.2" or "JavaScriptCore". */
  engine: string;
  /** e.g. "linux x64". */
  platform: string;
  cpuModel: string;
  cpus: number;
  /** One line for markdown, e.g. "Deno 2.9.6 (V8 15.0), linux x64, 2 × Intel …". */
  summary: string;
}

/** Detects the runtime (Deno, Bun or Node) and describes the machine. */
export function runtimeInfo(): RuntimeInfo {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  let runtime = "node", version = "", engine = "";
  if (g.Deno?.version) {
    runtime = "deno";
    version = g.Deno.version.deno;
    engine = `V8 ${g.Deno.version.v8}`;
  } else if (g.Bun?.version) {
    runtime = "bun";
    version = g.Bun.version;
    engine = "JavaScriptCore";
  } else {
    version = g.process?.versions?.node ?? "";
    engine = `V8 ${g.process?.versions?.v8 ?? ""}`;
  }
  const cpuList = os.cpus();
  const cpuModel = cpuList[0]?.model?.trim() ?? "unknown CPU";
  const cpus = cpuList.length;
  const platform = `${os.platform()} ${os.arch()}`;
  const name = runtime[0].toUpperCase() + runtime.slice(1);
  const summary =
    `${name} ${version} (${engine}), ${platform}, ${cpus} × ${cpuModel}`;
  return { runtime, version, engine, platform, cpuModel, cpus, summary };
}

/** True when the script was started with `--json` (machine-readable output). */
export function wantsJson(): boolean {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const args: string[] = g.Deno?.args ?? g.process?.argv?.slice(2) ?? [];
  return args.includes("--json");
}

/** Formats a number with `digits` significant digits and thousands separators. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toLocaleString("en-US");
  return Number(x.toPrecision(digits)).toLocaleString("en-US", {
    maximumFractionDigits: 20,
  });
}

/** A markdown table from a header row and body rows. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  const align = header.map((_, i) => (i === 0 ? "---" : "---:"));
  return [line(header), line(align), ...rows.map(line)].join("\n");
}

/**
 * Writes `markdown` into `file` between `<!-- id -->` and `<!-- /id -->`,
 * replacing that section if it is already there and appending it otherwise,
 * so runs under several runtimes can share one file.
 */
export function writeMarkdownSection(
  file: string,
  id: string,
  markdown: string,
): void {
  const open = `<!-- ${id} -->`, close = `<!-- /${id} -->`;
  const block = `${open}\n${markdown.trim()}\n${close}`;
  mkdirSync(dirname(file), { recursive: true });
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  const start = old.indexOf(open), end = old.indexOf(close);
  const next = start >= 0 && end > start
    ? old.slice(0, start) + block + old.slice(end + close.length)
    : (old.trim() === "" ? "" : old.trimEnd() + "\n\n") + block + "\n";
  writeFileSync(file, next);
}

/** The secret of the benches' signed servers (bench/serve_bench.ts). */
export const SECRET = "the bench cluster's shared secret";
