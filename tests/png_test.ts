// Tests of examples/png.ts, the codec behind the thumbnail example. PNGs are
// built three ways: by the encoder under test, by hand here (own filter and
// chunk code, so a bug shared by encoder and decoder cannot hide), and by
// Go's image/png (tests/go/png), an independent implementation.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { crc32 } from "../mod.ts";
import {
  decodePng,
  encodePng,
  type FilterType,
  MAX_THUMBNAIL_WIDTH,
  type RasterImage,
  resize,
  thumbnail,
  UnsupportedImageError,
  type UnsupportedImageKind,
} from "../examples/png.ts";
import { buildGo, skipWithoutGo } from "./_dev/go.ts";
import { dirname, fromFileUrl, join } from "./_dev/paths.ts";
import { seededUint32 } from "./_dev/random.ts";

const imagesDir = join(
  dirname(fromFileUrl(import.meta.url)),
  "../examples/images",
);

type Channels = RasterImage["channels"];

// ---- fixtures -----------------------------------------------------------

/** Deterministic noise bytes (mulberry32), so failures reproduce. */
function noise(seed: number): () => number {
  const next = seededUint32(seed);
  return () => next() & 255;
}

/** Half smooth ramps, half noise: exercises every filter's wrap-around. */
function sampleImage(
  width: number,
  height: number,
  channels: Channels,
  seed = width * 31 + height * 7 + channels,
): RasterImage {
  const next = noise(seed);
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < pixels.length; i++) {
    const x = Math.floor(i / channels) % width;
    pixels[i] = x < width / 2 ? (x * 9 + i % channels * 40) & 255 : next();
  }
  return { width, height, channels, pixels };
}

/** One chunk: length, type, data, CRC of type+data (`crc` overrides it). */
function chunk(type: string, data: ArrayLike<number>, crc?: number) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(
    8 + data.length,
    crc ?? crc32(out.subarray(4, 8 + data.length)),
  );
  return out;
}

function ihdr(
  width: number,
  height: number,
  colorType: number,
  { depth = 8, interlace = 0 } = {},
): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  data.set([depth, colorType, 0, 0, interlace], 8);
  return chunk("IHDR", data);
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function png(...chunks: Uint8Array[]): Uint8Array {
  return concat([SIGNATURE, ...chunks, chunk("IEND", [])]);
}

async function zlib(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream()
    .pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream()
    .pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Straight from PNG spec §9.2/§9.4, written independently of png.ts. */
function referenceFilter(
  type: FilterType,
  cur: Uint8Array,
  prev: Uint8Array | null,
  bpp: number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < cur.length; i++) {
    const a = i >= bpp ? cur[i - bpp] : 0;
    const b = prev ? prev[i] : 0;
    const c = prev && i >= bpp ? prev[i - bpp] : 0;
    const p = a + b - c;
    const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
    const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    const predictor = [0, a, b, Math.floor((a + b) / 2), paeth][type];
    out.push((cur[i] - predictor + 256) % 256);
  }
  return out;
}

/** A hand-made PNG whose row `y` uses filter `filterOf(y)`. */
async function handFiltered(
  img: RasterImage,
  colorType: number,
  filterOf: (y: number) => FilterType,
): Promise<Uint8Array> {
  const stride = img.width * img.channels;
  const rows: number[] = [];
  for (let y = 0; y < img.height; y++) {
    const cur = img.pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y === 0
      ? null
      : img.pixels.subarray((y - 1) * stride, y * stride);
    const f = filterOf(y);
    rows.push(f, ...referenceFilter(f, cur, prev, img.channels));
  }
  const idat = await zlib(Uint8Array.from(rows));
  return png(ihdr(img.width, img.height, colorType), chunk("IDAT", idat));
}

/** Raw (unfiltered, filter byte 0) scanlines of one-byte-per-sample data. */
async function idatOf(rows: number[][]): Promise<Uint8Array> {
  return chunk(
    "IDAT",
    await zlib(Uint8Array.from(rows.flatMap((r) => [0, ...r]))),
  );
}

/** Any image as RGBA, for comparing across channel counts. */
function toRGBA({ width, height, channels, pixels }: RasterImage): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  for (let i = 0, p = 0; i < out.length; i += 4, p += channels) {
    const grey = channels <= 2;
    out[i] = pixels[p];
    out[i + 1] = grey ? pixels[p] : pixels[p + 1];
    out[i + 2] = grey ? pixels[p] : pixels[p + 2];
    out[i + 3] = channels === 2
      ? pixels[p + 1]
      : channels === 4
      ? pixels[p + 3]
      : 255;
  }
  return out;
}

/** The chunk types of a PNG, in order. */
function chunkTypes(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: string[] = [];
  for (let pos = 8; pos < bytes.length;) {
    const length = view.getUint32(pos);
    types.push(new TextDecoder().decode(bytes.subarray(pos + 4, pos + 8)));
    pos += 12 + length;
  }
  return types;
}

/** The concatenated IDAT payloads of a PNG. */
function idatPayload(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  for (let pos = 8; pos < bytes.length;) {
    const length = view.getUint32(pos);
    const type = new TextDecoder().decode(bytes.subarray(pos + 4, pos + 8));
    if (type === "IDAT") parts.push(bytes.subarray(pos + 8, pos + 8 + length));
    pos += 12 + length;
  }
  return concat(parts);
}

async function rejectsWith(
  input: Uint8Array | Promise<Uint8Array>,
  kind: UnsupportedImageKind,
  message: RegExp,
): Promise<void> {
  await assert.rejects(decodePng(await input), (e: unknown) => {
    assert.ok(e instanceof UnsupportedImageError, `got ${e}`);
    assert.equal(e.name, "UnsupportedImageError");
    assert.equal(e.kind, kind);
    assert.match(e.message, message);
    return true;
  });
}

// ---- decodePng and encodePng ----------------------------------------------

describe("encodePng then decodePng", () => {
  const sizes: [number, number][] = [[1, 1], [3, 2], [17, 5], [64, 48]];
  for (const channels of [1, 2, 3, 4] as const) {
    for (const [w, h] of sizes) {
      it(`returns the same ${w}×${h} image with ${channels} channel(s)`, async () => {
        const img = sampleImage(w, h, channels);
        assert.deepEqual(await decodePng(await encodePng(img)), img);
      });
    }
    for (const filter of [0, 1, 2, 3, 4] as const) {
      it(`returns the same image when every row uses filter ${filter}, ${channels} channel(s)`, async () => {
        const img = sampleImage(23, 9, channels);
        assert.deepEqual(
          await decodePng(await encodePng(img, { filter })),
          img,
        );
      });
    }
  }

  const colorTypes: [Channels, number][] = [[1, 0], [2, 4], [3, 2], [4, 6]];
  for (const [channels, colorType] of colorTypes) {
    it(`writes ${channels} channel(s) as colour type ${colorType}, 8-bit`, async () => {
      const bytes = await encodePng(sampleImage(4, 4, channels));
      assert.deepEqual([...bytes.subarray(0, 8)], SIGNATURE);
      assert.deepEqual(chunkTypes(bytes), ["IHDR", "IDAT", "IEND"]);
      assert.equal(bytes[24], 8, "bit depth");
      assert.equal(bytes[25], colorType, "colour type");
    });
  }

  it("writes a palette image with PLTE and tRNS when asked, and reads it back as RGBA", async () => {
    const img = sampleImage(40, 30, 4);
    for (let i = 0; i < img.pixels.length; i += 4) {
      const v = (i / 4) % 7;
      img.pixels.set([v * 30, 255 - v * 30, v * 11, v === 3 ? 0 : 255], i);
    }
    const bytes = await encodePng(img, { palette: true });
    assert.equal(bytes[25], 3, "colour type");
    assert.deepEqual(chunkTypes(bytes), [
      "IHDR",
      "PLTE",
      "tRNS",
      "IDAT",
      "IEND",
    ]);
    assert.deepEqual(await decodePng(bytes), img);
  });

  it("writes an opaque palette image without tRNS and reads it back as RGB", async () => {
    const img: RasterImage = {
      width: 3,
      height: 2,
      channels: 3,
      pixels: Uint8Array.from([
        1,
        2,
        3,
        4,
        5,
        6,
        1,
        2,
        3,
        9,
        9,
        9,
        4,
        5,
        6,
        1,
        2,
        3,
      ]),
    };
    const bytes = await encodePng(img, { palette: true });
    assert.deepEqual(chunkTypes(bytes), ["IHDR", "PLTE", "IDAT", "IEND"]);
    assert.deepEqual(await decodePng(bytes), img);
  });

  it("refuses palette: true for an image with more than 256 colours", async () => {
    const pixels = new Uint8Array(257 * 3);
    for (let i = 0; i < 257; i++) pixels.set([i & 255, i >> 8, 0], i * 3);
    await assert.rejects(
      encodePng({ width: 257, height: 1, channels: 3, pixels }, {
        palette: true,
      }),
      { name: "RangeError", message: /at most 256 distinct colours/ },
    );
  });

  it("chooses a filter per row and so compresses a gradient better than no filter", async () => {
    const img = sampleImage(256, 64, 3);
    for (let i = 0; i < img.pixels.length; i++) img.pixels[i] = (i * 3) % 256;
    const adaptive = await encodePng(img);
    const none = await encodePng(img, { filter: 0 });
    const raw = await inflate(idatPayload(adaptive));
    const filters = new Set<number>();
    for (let y = 0; y < 64; y++) filters.add(raw[y * (256 * 3 + 1)]);
    assert.ok(![...filters].every((f) => f === 0), `filters ${[...filters]}`);
    assert.ok(
      adaptive.length < none.length,
      `${adaptive.length} vs ${none.length}`,
    );
  });

  it("splits large image data into several IDAT chunks", async () => {
    const bytes = await encodePng(sampleImage(512, 512, 4));
    const idats = chunkTypes(bytes).filter((t) => t === "IDAT").length;
    assert.ok(idats > 1, `${idats} IDAT chunk(s)`);
    assert.equal((await decodePng(bytes)).width, 512);
  });

  const badImages: [string, RasterImage, RegExp][] = [
    [
      "a zero width",
      { ...sampleImage(2, 2, 1), width: 0 },
      /width must be a positive integer/,
    ],
    [
      "a fractional height",
      { ...sampleImage(2, 2, 1), height: 1.5 },
      /height must be a positive integer/,
    ],
    [
      "5 channels",
      { ...sampleImage(2, 2, 1), channels: 5 as Channels },
      /channels must be 1, 2, 3 or 4/,
    ],
    [
      "too few pixel bytes",
      { ...sampleImage(2, 2, 3), width: 3 },
      /holds 12 bytes; 3×2×3 needs 18/,
    ],
  ];
  for (const [name, img, message] of badImages) {
    it(`refuses an image with ${name}`, async () => {
      await assert.rejects(encodePng(img), { name: "RangeError", message });
      assert.throws(() => resize(img, 1), { name: "RangeError", message });
    });
  }

  it("refuses an unknown filter option", async () => {
    await assert.rejects(
      encodePng(sampleImage(2, 2, 1), { filter: 5 as FilterType }),
      { name: "RangeError", message: /filter must be "adaptive" or 0 to 4/ },
    );
  });
});

describe("decodePng on hand-built PNGs", () => {
  const colorTypes: [number, Channels][] = [[0, 1], [4, 2], [2, 3], [6, 4]];
  for (const [colorType, channels] of colorTypes) {
    for (const filter of [0, 1, 2, 3, 4] as const) {
      it(`undoes filter ${filter} on every row of a colour type ${colorType} image`, async () => {
        const img = sampleImage(19, 7, channels, filter * 100 + colorType);
        assert.deepEqual(
          await decodePng(await handFiltered(img, colorType, () => filter)),
          img,
        );
      });
    }
    it(`undoes a different filter on each row of a colour type ${colorType} image`, async () => {
      const img = sampleImage(33, 12, channels);
      const bytes = await handFiltered(
        img,
        colorType,
        (y) => ((y * 3) % 5) as FilterType,
      );
      assert.deepEqual(await decodePng(bytes), img);
    });
  }

  it("expands a palette image to RGB", async () => {
    const plte = chunk("PLTE", [255, 0, 0, 0, 255, 0, 0, 0, 255]);
    const bytes = png(
      ihdr(3, 2, 3),
      plte,
      await idatOf([[0, 1, 2], [2, 2, 0]]),
    );
    assert.deepEqual(await decodePng(bytes), {
      width: 3,
      height: 2,
      channels: 3,
      pixels: Uint8Array.from([
        255,
        0,
        0,
        0,
        255,
        0,
        0,
        0,
        255,
        0,
        0,
        255,
        0,
        0,
        255,
        255,
        0,
        0,
      ]),
    });
  });

  it("expands a palette image with a short tRNS to RGBA, later entries opaque", async () => {
    const plte = chunk("PLTE", [10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const trns = chunk("tRNS", [0, 128]);
    const bytes = png(ihdr(3, 1, 3), plte, trns, await idatOf([[2, 1, 0]]));
    assert.deepEqual(await decodePng(bytes), {
      width: 3,
      height: 1,
      channels: 4,
      pixels: Uint8Array.from([
        70,
        80,
        90,
        255,
        40,
        50,
        60,
        128,
        10,
        20,
        30,
        0,
      ]),
    });
  });

  it("reads greyscale as one channel", async () => {
    const bytes = png(ihdr(2, 2, 0), await idatOf([[0, 64], [128, 255]]));
    assert.deepEqual(await decodePng(bytes), {
      width: 2,
      height: 2,
      channels: 1,
      pixels: Uint8Array.from([0, 64, 128, 255]),
    });
  });

  it("reads greyscale+alpha as two channels", async () => {
    const bytes = png(ihdr(2, 1, 4), await idatOf([[10, 0, 200, 255]]));
    assert.deepEqual(await decodePng(bytes), {
      width: 2,
      height: 1,
      channels: 2,
      pixels: Uint8Array.from([10, 0, 200, 255]),
    });
  });

  it("turns a greyscale tRNS colour key into an alpha channel", async () => {
    const trns = chunk("tRNS", [0, 64]);
    const bytes = png(ihdr(3, 1, 0), trns, await idatOf([[64, 65, 64]]));
    assert.deepEqual(await decodePng(bytes), {
      width: 3,
      height: 1,
      channels: 2,
      pixels: Uint8Array.from([64, 0, 65, 255, 64, 0]),
    });
  });

  it("turns an RGB tRNS colour key into an alpha channel", async () => {
    const trns = chunk("tRNS", [0, 1, 0, 2, 0, 3]);
    const bytes = png(ihdr(2, 1, 2), trns, await idatOf([[1, 2, 3, 1, 2, 4]]));
    assert.deepEqual(await decodePng(bytes), {
      width: 2,
      height: 1,
      channels: 4,
      pixels: Uint8Array.from([1, 2, 3, 0, 1, 2, 4, 255]),
    });
  });

  it("joins image data split across many one-byte IDAT chunks", async () => {
    const img = sampleImage(8, 8, 3);
    const whole = await zlib(Uint8Array.from(
      Array.from(
        { length: 8 },
        (_, y) => [0, ...img.pixels.subarray(y * 24, (y + 1) * 24)],
      ).flat(),
    ));
    const idats = [...whole].map((b) => chunk("IDAT", [b]));
    assert.deepEqual(await decodePng(png(ihdr(8, 8, 2), ...idats)), img);
  });

  it("skips unknown ancillary chunks and ignores bytes after IEND", async () => {
    const bytes = png(
      ihdr(1, 1, 0),
      chunk("tEXt", new TextEncoder().encode("Comment\0hello")),
      chunk("prVt", [1, 2, 3]),
      await idatOf([[77]]),
    );
    const img = await decodePng(concat([bytes, [1, 2, 3]]));
    assert.deepEqual([...img.pixels], [77]);
  });

  it("decodes a subarray of a larger buffer", async () => {
    const bytes = await encodePng(sampleImage(5, 5, 3));
    const padded = concat([[9, 9, 9], bytes, [9]]);
    const img = await decodePng(padded.subarray(3, 3 + bytes.length));
    assert.deepEqual(img, sampleImage(5, 5, 3));
  });
});

describe("decodePng refusing input", () => {
  const good = () => png(ihdr(2, 2, 0), chunk("IDAT", []));
  const cases: [
    string,
    () => Uint8Array | Promise<Uint8Array>,
    UnsupportedImageKind,
    RegExp,
  ][] = [
    [
      "empty input",
      () => new Uint8Array(0),
      "not_png",
      /too short for a PNG signature/,
    ],
    [
      "a JPEG",
      () => Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70]),
      "not_png",
      /PNG signature/,
    ],
    [
      "a signature with one byte wrong",
      () => {
        const b = good();
        b[1] = 81;
        return b;
      },
      "not_png",
      /PNG signature/,
    ],
    [
      "a file cut inside the signature",
      () => good().subarray(0, 5),
      "not_png",
      /too short/,
    ],
    [
      "a file cut right after the signature",
      () => good().subarray(0, 8),
      "corrupt",
      /truncated: input ends before the IEND/,
    ],
    [
      "a file cut inside the IHDR chunk",
      () => good().subarray(0, 20),
      "corrupt",
      /truncated: chunk header at byte 8|truncated: chunk IHDR/,
    ],
    [
      "a file cut inside the image data",
      async () => (await encodePng(sampleImage(40, 40, 3))).subarray(0, 200),
      "corrupt",
      /truncated: chunk IDAT/,
    ],
    [
      "a file without IEND",
      async () => {
        const b = await encodePng(sampleImage(4, 4, 3));
        return b.subarray(0, b.length - 12);
      },
      "corrupt",
      /truncated: input ends before the IEND/,
    ],
    [
      "a bad CRC on IHDR",
      () => png(chunk("IHDR", ihdr(2, 2, 0).subarray(8, 21), 0x12345678)),
      "corrupt",
      /bad CRC in chunk IHDR at byte 8: stored 0x12345678/,
    ],
    [
      "a flipped bit in the image data",
      async () => {
        const b = await encodePng(sampleImage(4, 4, 3));
        b[8 + 25 + 8 + 2] ^= 1;
        return b;
      },
      "corrupt",
      /bad CRC in chunk IDAT at byte 33/,
    ],
    [
      "16-bit RGB",
      () => png(ihdr(2, 2, 2, { depth: 16 }), chunk("IDAT", [])),
      "unsupported",
      /bit depth 16 is not supported.*16-bit RGB/,
    ],
    [
      "16-bit RGBA",
      () => png(ihdr(2, 2, 6, { depth: 16 }), chunk("IDAT", [])),
      "unsupported",
      /bit depth 16 is not supported/,
    ],
    [
      "1-bit greyscale",
      () => png(ihdr(2, 2, 0, { depth: 1 }), chunk("IDAT", [])),
      "unsupported",
      /bit depth 1 is not supported/,
    ],
    [
      "4-bit palette",
      () => png(ihdr(2, 2, 3, { depth: 4 }), chunk("IDAT", [])),
      "unsupported",
      /bit depth 4 is not supported/,
    ],
    [
      "an interlaced image",
      () => png(ihdr(2, 2, 2, { interlace: 1 }), chunk("IDAT", [])),
      "unsupported",
      /interlaced \(Adam7\)/,
    ],
    [
      "an unknown critical chunk",
      async () => png(ihdr(1, 1, 0), chunk("ZZZZ", []), await idatOf([[0]])),
      "unsupported",
      /unknown critical chunk ZZZZ/,
    ],
    [
      "more pixels than the limit",
      () => png(ihdr(100_000, 100_000, 2), chunk("IDAT", [])),
      "unsupported",
      /100000×100000 = 10000000000 pixels, above the limit of 33554432/,
    ],
    [
      "bit depth 4 on RGB",
      () => png(ihdr(2, 2, 2, { depth: 4 }), chunk("IDAT", [])),
      "corrupt",
      /bit depth 4 is invalid for colour type 2/,
    ],
    [
      "colour type 5",
      () => png(ihdr(2, 2, 5), chunk("IDAT", [])),
      "corrupt",
      /colour type 5 is invalid/,
    ],
    [
      "interlace method 2",
      () => png(ihdr(2, 2, 0, { interlace: 2 }), chunk("IDAT", [])),
      "corrupt",
      /interlace method 2 is invalid/,
    ],
    [
      "a zero width",
      () => png(ihdr(0, 2, 0), chunk("IDAT", [])),
      "corrupt",
      /IHDR size 0×2 is invalid/,
    ],
    [
      "a short IHDR",
      () => png(chunk("IHDR", [0, 0, 0, 1])),
      "corrupt",
      /IHDR chunk is 4 bytes, must be 13/,
    ],
    [
      "a first chunk other than IHDR",
      () => png(chunk("IDAT", []), ihdr(1, 1, 0)),
      "corrupt",
      /first chunk must be IHDR, found IDAT/,
    ],
    [
      "a chunk type that is not letters",
      () => png(ihdr(1, 1, 0), chunk("ID@T", [])),
      "corrupt",
      /not four ASCII letters/,
    ],
    ["no IDAT", () => png(ihdr(1, 1, 0)), "corrupt", /no IDAT chunk/],
    [
      "a palette image without PLTE",
      async () => png(ihdr(1, 1, 3), await idatOf([[0]])),
      "corrupt",
      /has no PLTE chunk/,
    ],
    [
      "a PLTE of 4 bytes",
      async () =>
        png(ihdr(1, 1, 3), chunk("PLTE", [1, 2, 3, 4]), await idatOf([[0]])),
      "corrupt",
      /PLTE chunk is 4 bytes/,
    ],
    [
      "a palette index past the palette",
      async () =>
        png(ihdr(2, 1, 3), chunk("PLTE", [1, 2, 3]), await idatOf([[0, 1]])),
      "corrupt",
      /pixel 1,0 uses palette index 1, palette has 1 entries/,
    ],
    [
      "a tRNS longer than the palette",
      async () =>
        png(
          ihdr(1, 1, 3),
          chunk("PLTE", [1, 2, 3]),
          chunk("tRNS", [0, 0]),
          await idatOf([[0]]),
        ),
      "corrupt",
      /tRNS chunk has 2 entries, palette only 1/,
    ],
    [
      "a tRNS on RGBA",
      async () =>
        png(ihdr(1, 1, 6), chunk("tRNS", [0, 0]), await idatOf([[0, 0, 0, 0]])),
      "corrupt",
      /tRNS chunk is not allowed in a RGBA image/,
    ],
    [
      "an unknown row filter",
      async () =>
        png(ihdr(1, 1, 0), chunk("IDAT", await zlib(Uint8Array.from([5, 0])))),
      "corrupt",
      /row 0 has unknown filter type 5/,
    ],
    [
      "too little image data",
      async () => png(ihdr(4, 4, 0), await idatOf([[1, 2, 3, 4]])),
      "corrupt",
      /truncated: image data inflates to 5 bytes, the header implies 20/,
    ],
    [
      "too much image data",
      async () => png(ihdr(1, 1, 0), await idatOf([[1], [2]])),
      "corrupt",
      /inflates to more than the 2 bytes/,
    ],
    [
      "image data that is not zlib",
      () => png(ihdr(1, 1, 0), chunk("IDAT", [1, 2, 3, 4, 5, 6, 7, 8])),
      "corrupt",
      /not a valid zlib stream/,
    ],
    [
      "a zlib stream cut short",
      async () => {
        // Noise, so half the stream carries about half the rows; runtimes
        // differ on whether an unfinished stream is an error or just ends.
        const next = noise(7);
        const rows = new Uint8Array(4 * 101).map((_, i) =>
          i % 101 ? next() : 0
        );
        const z = await zlib(rows);
        return png(
          ihdr(100, 4, 0),
          chunk("IDAT", z.subarray(0, z.length >> 1)),
        );
      },
      "corrupt",
      /not a valid zlib stream|truncated: image data/,
    ],
  ];
  for (const [name, input, kind, message] of cases) {
    it(`refuses ${name} as ${kind}`, async () => {
      await rejectsWith(input(), kind, message);
    });
  }

  it("honours a smaller maxPixels", async () => {
    const bytes = await encodePng(sampleImage(10, 10, 1));
    await assert.rejects(decodePng(bytes, { maxPixels: 99 }), {
      name: "UnsupportedImageError",
      message: /10×10 = 100 pixels, above the limit of 99/,
    });
    assert.equal((await decodePng(bytes, { maxPixels: 100 })).width, 10);
  });

  it("throws a TypeError for input that is not a Uint8Array", async () => {
    await assert.rejects(
      decodePng("not bytes" as unknown as Uint8Array),
      { name: "TypeError", message: /must be a Uint8Array/ },
    );
  });
});

// ---- resize and thumbnail ----------------------------------------------

describe("resize", () => {
  const grey = (
    width: number,
    height: number,
    values: number[],
  ): RasterImage => ({
    width,
    height,
    channels: 1,
    pixels: Uint8Array.from(values),
  });

  const cases: [string, RasterImage, number, RasterImage][] = [
    [
      "averages 2×2 blocks when halving",
      grey(4, 2, [0, 100, 200, 200, 0, 100, 0, 0]),
      2,
      grey(2, 1, [50, 100]),
    ],
    [
      "weights partly covered pixels by their share when going 3 → 2",
      grey(3, 1, [0, 90, 180]),
      2,
      grey(2, 1, [30, 150]),
    ],
    [
      "averages a whole row into one pixel",
      grey(5, 1, [10, 20, 30, 40, 51]),
      1,
      grey(1, 1, [30]),
    ],
    [
      "rounds the height and keeps at least one row",
      grey(10, 1, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]),
      3,
      grey(3, 1, [12, 45, 78]),
    ],
  ];
  for (const [name, img, width, want] of cases) {
    it(name, () => {
      assert.deepEqual(resize(img, width), want);
    });
  }

  const shapes: [number, number, number, number, number][] = [
    [1024, 768, 128, 128, 96],
    [1024, 768, 64, 64, 48],
    [640, 480, 100, 100, 75],
    [3, 1000, 1, 1, 333],
    [1000, 3, 10, 10, 1],
    [7, 5, 6, 6, 4],
  ];
  for (const [w, h, to, ww, wh] of shapes) {
    it(`shrinks ${w}×${h} to width ${to} as ${ww}×${wh}, keeping a flat colour flat`, () => {
      const img: RasterImage = {
        width: w,
        height: h,
        channels: 3,
        pixels: new Uint8Array(w * h * 3),
      };
      for (let i = 0; i < img.pixels.length; i += 3) {
        img.pixels.set([12, 200, 77], i);
      }
      const out = resize(img, to);
      assert.equal(out.width, ww);
      assert.equal(out.height, wh);
      for (let i = 0; i < out.pixels.length; i += 3) {
        assert.deepEqual(
          [...out.pixels.subarray(i, i + 3)],
          [12, 200, 77],
          `pixel ${i / 3}`,
        );
      }
    });
  }

  it("never enlarges: a wider target returns a same-size copy", () => {
    const img = sampleImage(10, 4, 4);
    const out = resize(img, 100);
    assert.deepEqual(out, img);
    assert.notEqual(out.pixels, img.pixels);
  });

  it("does not let fully transparent pixels tint their neighbours", () => {
    const img: RasterImage = {
      width: 2,
      height: 1,
      channels: 4,
      pixels: Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 0]),
    };
    assert.deepEqual([...resize(img, 1).pixels], [255, 0, 0, 128]);
  });

  it("gives a fully transparent area colour 0 and alpha 0", () => {
    const img: RasterImage = {
      width: 2,
      height: 2,
      channels: 2,
      pixels: Uint8Array.from([9, 0, 9, 0, 9, 0, 9, 0]),
    };
    assert.deepEqual([...resize(img, 1).pixels], [0, 0]);
  });

  const badWidths: unknown[] = [
    0,
    -1,
    1.5,
    NaN,
    Infinity,
    MAX_THUMBNAIL_WIDTH + 1,
    "64",
    undefined,
  ];
  for (const width of badWidths) {
    it(`throws a RangeError for width ${String(width)}`, () => {
      assert.throws(() => resize(sampleImage(4, 4, 1), width as number), {
        name: "RangeError",
        message: /resize: width must be an integer from 1 to 4096/,
      });
    });
  }
});

describe("thumbnail", () => {
  const badWidths: unknown[] = [0, 4097, 2.5, "64"];
  for (const width of badWidths) {
    it(`throws a RangeError for width ${String(width)} before looking at the bytes`, async () => {
      await assert.rejects(thumbnail(new Uint8Array(0), width as number), {
        name: "RangeError",
        message: /thumbnail: width must be an integer from 1 to 4096/,
      });
    });
  }

  it("refuses bytes that are not a PNG with UnsupportedImageError", async () => {
    await assert.rejects(
      thumbnail(new TextEncoder().encode("<html>not an image</html>"), 64),
      { name: "UnsupportedImageError" },
    );
  });

  it("returns a same-size PNG for a width at or above the image's", async () => {
    const img = sampleImage(30, 20, 3);
    assert.deepEqual(
      await decodePng(await thumbnail(await encodePng(img), 4096)),
      img,
    );
  });
});

describe("the sample images in examples/images", () => {
  let files: [string, Uint8Array][] = [];
  before(async () => {
    const names = (await readdir(imagesDir)).filter((n) => n.endsWith(".png"))
      .sort();
    files = await Promise.all(
      names.map(async (n) =>
        [n, new Uint8Array(await readFile(join(imagesDir, n)))] as [
          string,
          Uint8Array,
        ]
      ),
    );
  });

  it("are at least four files, each under 500 KB and under 1.5 MB together", () => {
    assert.ok(files.length >= 4, `${files.length} files`);
    for (const [name, bytes] of files) {
      assert.ok(bytes.length < 500_000, `${name}: ${bytes.length} bytes`);
    }
    const total = files.reduce((n, [, b]) => n + b.length, 0);
    assert.ok(total < 1_500_000, `${total} bytes in all`);
  });

  it("include a palette, a greyscale, an RGB and an RGBA image", () => {
    const types = new Set(files.map(([, b]) => b[25]));
    for (const t of [0, 2, 3, 6]) {
      assert.ok(types.has(t), `colour type ${t} in ${[...types]}`);
    }
  });

  it("each decode to the size their header states", async () => {
    for (const [name, bytes] of files) {
      const img = await decodePng(bytes);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      assert.equal(img.width, view.getUint32(16), name);
      assert.equal(img.height, view.getUint32(20), name);
      assert.equal(
        img.pixels.length,
        img.width * img.height * img.channels,
        name,
      );
    }
  });

  it("each make a 64-pixel-wide thumbnail of proportional height that decodes again", async () => {
    for (const [name, bytes] of files) {
      const source = await decodePng(bytes);
      const small = await decodePng(await thumbnail(bytes, 64));
      assert.equal(small.width, 64, name);
      assert.equal(
        small.height,
        Math.max(1, Math.round((source.height * 64) / source.width)),
        name,
      );
    }
  });
});

// ---- Go's image/png as the other side ----------------------------------

describe("interop with Go's image/png", { skip: skipWithoutGo() }, () => {
  let binary = "";
  before(() => {
    binary = buildGo("tests/go/png", "gopng");
  }, { timeout: 120_000 });

  const go = (mode: string, input: Uint8Array): Uint8Array =>
    new Uint8Array(
      execFileSync(binary, ["-mode", mode], { input, maxBuffer: 64 << 20 }),
    );

  function goPixels(
    bytes: Uint8Array,
  ): { width: number; height: number; rgba: Uint8Array } {
    const out = go("pixels", bytes);
    const nl = out.indexOf(10);
    const [width, height] = new TextDecoder().decode(out.subarray(0, nl)).split(
      " ",
    ).map(Number);
    return { width, height, rgba: out.subarray(nl + 1) };
  }

  const ours: [string, RasterImage, { palette?: boolean }][] = [
    ["greyscale", sampleImage(37, 21, 1), {}],
    ["greyscale+alpha", sampleImage(37, 21, 2), {}],
    ["RGB", sampleImage(37, 21, 3), {}],
    ["RGBA", sampleImage(37, 21, 4), {}],
    [
      "palette",
      (() => {
        const img = sampleImage(37, 21, 4);
        for (let i = 0; i < img.pixels.length; i += 4) {
          const v = (i / 4) % 11;
          img.pixels.set(
            [v * 20, v * 3, 255 - v * 20, v < 2 ? v * 90 : 255],
            i,
          );
        }
        return img;
      })(),
      { palette: true },
    ],
  ];
  for (const [name, img, options] of ours) {
    it(`Go reads our ${name} PNG as the same pixels`, async () => {
      const got = goPixels(await encodePng(img, options));
      assert.deepEqual([got.width, got.height], [img.width, img.height]);
      assert.deepEqual(got.rgba, toRGBA(img));
    });
  }

  it("we read every sample image re-encoded by Go as the same pixels", async () => {
    const names = (await readdir(imagesDir)).filter((n) => n.endsWith(".png"));
    assert.ok(names.length > 0);
    for (const name of names) {
      const bytes = new Uint8Array(await readFile(join(imagesDir, name)));
      const mine = await decodePng(bytes);
      assert.deepEqual(
        goPixels(bytes).rgba,
        toRGBA(mine),
        `Go reading ${name}`,
      );
      const theirs = await decodePng(go("reencode", bytes));
      assert.deepEqual(toRGBA(theirs), toRGBA(mine), `reading Go's ${name}`);
    }
  });
});
