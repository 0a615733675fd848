// crc32 (src/crc32.ts) against npm crc-32@1.2.2 (SheetJS), in one process,
// on the same inputs, rounds interleaved.
//
// Workloads:
// - 16-char ASCII keys: 1,024 distinct flat strings such as "user:0001a2f3:qz"
//   (the shape of a cache key), ours `crc32(s)` against `CRC32.str(s)`;
// - 64 KiB buffer of seeded random bytes, `crc32(b)` against `CRC32.buf(b)`;
// - for context: 16-char keys of mixed Cyrillic/CJK/emoji text, and one
//   4 KiB ASCII string.
// crc-32 returns a signed int32, ours the unsigned value Go returns; every
// result is checked to agree (modulo 2^32) before timing.
//
// Usage: deno run -A bench/crc32_bench.ts [--rounds N] [--json]
//        bun bench/crc32_bench.ts [--rounds N] [--json]
// Writes its section of bench/results/crc32.md (one section per runtime).
import CRC32 from "crc-32";
import { targetComment } from "./_proc.ts";
import { crc32 } from "../src/crc32.ts";
import {
  type Case,
  fmt,
  markdownTable,
  measureAll,
  type Measurement,
  runtimeInfo,
  wantsJson,
  writeMarkdownSection,
} from "./_util.ts";
import { seededRandom } from "../tests/_dev/random.ts";
import { numberOption } from "./_proc.ts";

const ROUNDS = numberOption("rounds", 7);

const random = seededRandom(0x9e3779b9);

// Strings built from char codes are flat (not slices or ropes of others).
const flat = (s: string) =>
  String.fromCharCode(
    ...Array.from({ length: s.length }, (_, i) => s.charCodeAt(i)),
  );

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const asciiKeys: string[] = [];
for (let i = 0; i < 1024; i++) {
  let tail = "";
  for (let j = 0; j < 2; j++) tail += ALNUM[Math.floor(random() * 36)];
  const id = (Math.floor(random() * 2 ** 32)).toString(16).padStart(8, "0");
  asciiKeys.push(flat(`user:${id}:${tail}`));
}
const TEXT = "ключ日本語テキスト😀€ßé";
const textKeys: string[] = [];
for (let i = 0; i < 1024; i++) {
  let k = "";
  while (k.length < 16) k += [...TEXT][Math.floor(random() * 15)];
  textKeys.push(flat(k));
}
let long = "";
while (long.length < 4096) long += ALNUM[Math.floor(random() * 36)];
const longKeys = [flat(long)];

const buffer = new Uint8Array(64 * 1024);
for (let i = 0; i < buffer.length; i++) buffer[i] = random() * 256;

for (const k of [...asciiKeys, ...textKeys, ...longKeys]) {
  if (crc32(k) !== CRC32.str(k) >>> 0) throw new Error(`disagree on ${k}`);
}
if (crc32(buffer) !== CRC32.buf(buffer) >>> 0) throw new Error("disagree");

// Each contender gets its own loop (its own call site) so that neither
// inherits the other's type feedback.
function stringCases(keys: string[]): [Case, Case] {
  const mask = keys.length - 1, bytes = new TextEncoder().encode(keys[0]);
  return [
    {
      name: "ours",
      bytesPerOp: bytes.length,
      fn: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) x ^= crc32(keys[i & mask]);
        return x;
      },
    },
    {
      name: "crc-32",
      bytesPerOp: bytes.length,
      fn: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) x ^= CRC32.str(keys[i & mask]);
        return x;
      },
    },
  ];
}

const workloads: { name: string; cases: [Case, Case] }[] = [
  { name: "16-char ASCII keys (str)", cases: stringCases(asciiKeys) },
  {
    name: "64 KiB buffer (buf)",
    cases: [
      {
        name: "ours",
        bytesPerOp: buffer.length,
        fn: (n) => {
          let x = 0;
          for (let i = 0; i < n; i++) x ^= crc32(buffer);
          return x;
        },
      },
      {
        name: "crc-32",
        bytesPerOp: buffer.length,
        fn: (n) => {
          let x = 0;
          for (let i = 0; i < n; i++) x ^= CRC32.buf(buffer);
          return x;
        },
      },
    ],
  },
  { name: "16-char non-ASCII keys (str)", cases: stringCases(textKeys) },
  { name: "4 KiB ASCII string (str)", cases: stringCases(longKeys) },
];

const info = runtimeInfo();
const json = wantsJson();
if (!json) console.log(`${info.summary}, ${ROUNDS} rounds`);
const results: {
  workload: string;
  ours: Measurement;
  theirs: Measurement;
  ratio: number;
  bestRatio: number;
}[] = [];
for (const w of workloads) {
  const [ours, theirs] = measureAll(w.cases, { rounds: ROUNDS });
  const ratio = ours.opsPerSec.median / theirs.opsPerSec.median;
  const bestRatio = ours.opsPerSec.max / theirs.opsPerSec.max;
  results.push({ workload: w.name, ours, theirs, ratio, bestRatio });
  if (!json) {
    console.log(`\n${w.name}`);
    for (const m of [ours, theirs]) {
      const o = m.opsPerSec, b = m.mbPerSec!;
      console.log(
        `  ${m.name.padEnd(7)} ops/s min ${fmt(o.min)} median ${
          fmt(o.median)
        } max ${fmt(o.max)}   MB/s median ${fmt(b.median)}`,
      );
    }
    console.log(
      `  ours/crc-32: ${ratio.toFixed(2)}× (medians), ${
        bestRatio.toFixed(2)
      }× (best rounds)`,
    );
  }
}
if (json) {
  console.log(JSON.stringify({ runtime: info, rounds: ROUNDS, results }));
}

const rows = results.flatMap(({ workload, ours, theirs, ratio, bestRatio }) =>
  [ours, theirs].map((m) => [
    m === ours ? workload : "",
    m.name === "ours" ? "crc32 (ours)" : "crc-32 1.2.2",
    `${fmt(m.opsPerSec.min)} / ${fmt(m.opsPerSec.median)} / ${
      fmt(m.opsPerSec.max)
    }`,
    fmt(m.mbPerSec!.median),
    m === ours ? `**${ratio.toFixed(2)}×** (${bestRatio.toFixed(2)}×)` : "",
  ])
);
writeMarkdownSection(
  new URL("./results/crc32.md", import.meta.url).pathname,
  `crc32:${info.runtime}`,
  `### crc32 vs crc-32 — ${info.summary}

${ROUNDS} interleaved rounds of about 250 ms each; ops/s min / median / max;
MB/s from the median; "ours ÷ theirs" is the ratio of medians (in brackets:
of the best rounds, which shared-machine noise disturbs least). The keys
are well-formed UTF-16: crc-32 reads a lone surrogate as half of a pair, where
TextEncoder and Go's \`[]byte(s)\` give U+FFFD (ours does the same). Produced
by \`bench/crc32_bench.ts\`.

${
    markdownTable(
      [
        "workload",
        "implementation",
        "ops/s (min / median / max)",
        "MB/s",
        "ours ÷ theirs (best)",
      ],
      rows,
    )
  }
${
    results.filter((r) =>
      !r.workload.includes("non-ASCII") && !r.workload.startsWith("4 KiB")
    )
      .map((r) =>
        targetComment({
          bench: `crc32, ${r.workload}`,
          runtime: info.runtime,
          workload: r.workload,
          target: "≥ 1.0× crc-32",
          ratio: Number(r.ratio.toFixed(2)),
          needed: 1,
        })
      ).join("\n")
  }`,
);
