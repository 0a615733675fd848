/**
 * A small PNG codec and thumbnailer for the thumbnail example, written
 * against web-standard APIs only (`DecompressionStream`, `CompressionStream`,
 * typed arrays) so it runs unchanged on Deno, Bun and Node ≥ 20.
 *
 * Scope, kept deliberately small: 8-bit, non-interlaced PNGs of every colour
 * type (grey, RGB, palette, grey+alpha, RGBA). Anything else — 16-bit or
 * sub-byte samples, Adam7 interlacing, a bad CRC, truncated or non-PNG input —
 * is refused with an {@linkcode UnsupportedImageError}, whose `kind` tells a
 * server whether to answer 415 (`not_png`, `unsupported`) or 422 (`corrupt`).
 *
 * @example Make a 64-pixel-wide thumbnail
 * ```ts
 * import { encodePng, thumbnail, decodePng } from "./png.ts";
 *
 * const source = await encodePng({
 *   width: 256,
 *   height: 128,
 *   channels: 3,
 *   pixels: new Uint8Array(256 * 128 * 3).fill(200),
 * });
 * const small = await decodePng(await thumbnail(source, 64));
 * console.log(small.width, small.height); // 64 32
 * ```
 *
 * @module
 */
import { crc32 } from "../mod.ts";

/** Samples per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
export type Channels = 1 | 2 | 3 | 4;

/**
 * An 8-bit raster: `pixels` holds `height` rows of `width * channels` bytes,
 * top row first, samples interleaved (grey, grey+alpha, RGB or RGBA).
 *
 * @example
 * ```ts
 * import type { RasterImage } from "./png.ts";
 *
 * const red: RasterImage = {
 *   width: 1,
 *   height: 1,
 *   channels: 3,
 *   pixels: new Uint8Array([255, 0, 0]),
 * };
 * console.log(red.pixels.length); // 3
 * ```
 */
export interface RasterImage {
  /** Columns, at least 1. */
  width: number;
  /** Rows, at least 1. */
  height: number;
  /** Samples per pixel. */
  channels: Channels;
  /** `width * height * channels` bytes, row-major. */
  pixels: Uint8Array;
}

/**
 * Why an input was refused: `not_png` (no PNG signature), `unsupported`
 * (a valid PNG this codec does not handle, e.g. 16-bit or interlaced, or one
 * above the pixel limit) or `corrupt` (bad CRC, truncated, invalid data).
 */
export type UnsupportedImageKind = "not_png" | "unsupported" | "corrupt";

/**
 * Thrown by {@linkcode decodePng} (and so {@linkcode thumbnail}) for input it
 * cannot decode. A server answers 415 Unsupported Media Type for `not_png`
 * and `unsupported`, 422 Unprocessable Content for `corrupt`.
 *
 * @example
 * ```ts
 * import { decodePng, UnsupportedImageError } from "./png.ts";
 *
 * try {
 *   await decodePng(new TextEncoder().encode("GIF89a"));
 * } catch (e) {
 *   if (e instanceof UnsupportedImageError) console.log(e.kind); // "not_png"
 * }
 * ```
 */
export class UnsupportedImageError extends Error {
  override readonly name = "UnsupportedImageError";
  /** Which class of problem; see {@linkcode UnsupportedImageKind}. */
  readonly kind: UnsupportedImageKind;

  /** `message` should name the offending chunk, field or value. */
  constructor(kind: UnsupportedImageKind, message: string) {
    super(`png: ${message}`);
    this.kind = kind;
  }
}

/** Options for {@linkcode decodePng}. */
export interface DecodeOptions {
  /**
   * Refuse images with more pixels than this (kind `unsupported`) before
   * allocating anything, so a tiny file cannot claim a huge canvas.
   * Default {@linkcode DEFAULT_MAX_PIXELS}.
   */
  maxPixels?: number;
}

/**
 * The default pixel limit of {@linkcode decodePng}: 2^25 (about 33.5
 * megapixels, e.g. 8192×4096), which at 4 channels is 128 MiB decoded.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_PIXELS } from "./png.ts";
 * console.log(DEFAULT_MAX_PIXELS); // 33554432
 * ```
 */
export const DEFAULT_MAX_PIXELS = 1 << 25;

/**
 * The widest thumbnail {@linkcode resize} and {@linkcode thumbnail} make.
 *
 * @example
 * ```ts
 * import { MAX_THUMBNAIL_WIDTH } from "./png.ts";
 * console.log(MAX_THUMBNAIL_WIDTH); // 4096
 * ```
 */
export const MAX_THUMBNAIL_WIDTH = 4096;

/** PNG row filter types (PNG spec §9.2): None, Sub, Up, Average, Paeth. */
export type FilterType = 0 | 1 | 2 | 3 | 4;

/** Options for {@linkcode encodePng}. */
export interface EncodeOptions {
  /**
   * `"adaptive"` (default) picks per row the filter whose output has the
   * smallest sum of absolute signed bytes (the libpng heuristic), and None
   * for palette images; a number forces that filter on every row.
   */
  filter?: "adaptive" | FilterType;
  /**
   * Write a palette PNG (colour type 3, with tRNS when any alpha is below
   * 255). Throws a RangeError when the image has more than 256 colours.
   */
  palette?: boolean;
}

const SIGNATURE = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
const MAX_CHUNK_LENGTH = 0x7fffffff;
const IDAT_SPLIT = 1 << 16;

/** Colour type → samples per pixel as stored (palette indices are 1). */
const STORED_CHANNELS: Record<number, Channels> = {
  0: 1,
  2: 3,
  3: 1,
  4: 2,
  6: 4,
};
/** Bit depths the PNG spec allows per colour type. */
const LEGAL_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const COLOR_TYPE_NAMES: Record<number, string> = {
  0: "greyscale",
  2: "RGB",
  3: "palette",
  4: "greyscale+alpha",
  6: "RGBA",
};

interface Header {
  width: number;
  height: number;
  colorType: number;
}

function corrupt(message: string): UnsupportedImageError {
  return new UnsupportedImageError("corrupt", message);
}

function unsupported(message: string): UnsupportedImageError {
  return new UnsupportedImageError("unsupported", message);
}

/**
 * Decodes an 8-bit, non-interlaced PNG. Grey, grey+alpha, RGB and RGBA keep
 * their channel count; palette images expand to RGB, or RGBA when they carry
 * tRNS; a tRNS colour key on grey or RGB adds an alpha channel.
 *
 * Every chunk's CRC is checked, and the image data must inflate to exactly
 * the size the header implies.
 *
 * @throws {UnsupportedImageError} for anything it cannot decode.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 *
 * const png = await encodePng({
 *   width: 2,
 *   height: 1,
 *   channels: 1,
 *   pixels: new Uint8Array([0, 255]),
 * });
 * const img = await decodePng(png);
 * console.log(img.channels, [...img.pixels]); // 1 [0, 255]
 * ```
 */
export async function decodePng(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<RasterImage> {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError("decodePng: bytes must be a Uint8Array");
  }
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) {
    throw new RangeError(
      `decodePng: maxPixels must be a positive number, got ${maxPixels}`,
    );
  }
  const { header, palette, transparency, idat } = readChunks(bytes, maxPixels);
  const { width, height, colorType } = header;
  const bpp = STORED_CHANNELS[colorType];
  const stride = width * bpp;
  const raw = await inflate(idat, height * (stride + 1));
  const samples = unfilter(raw, width, height, bpp);

  if (colorType === 3) {
    return expandPalette(header, samples, palette!, transparency);
  }
  if (transparency !== undefined && (colorType === 0 || colorType === 2)) {
    return applyColorKey(header, samples, transparency);
  }
  return { width, height, channels: bpp, pixels: samples };
}

interface Chunks {
  header: Header;
  palette?: Uint8Array;
  transparency?: Uint8Array;
  idat: Uint8Array[];
}

function readChunks(bytes: Uint8Array, maxPixels: number): Chunks {
  if (bytes.length < SIGNATURE.length) {
    throw new UnsupportedImageError(
      "not_png",
      `input is ${bytes.length} bytes, too short for a PNG signature`,
    );
  }
  for (let i = 0; i < SIGNATURE.length; i++) {
    if (bytes[i] !== SIGNATURE[i]) {
      throw new UnsupportedImageError(
        "not_png",
        "input does not start with the PNG signature 89 50 4E 47 0D 0A 1A 0A",
      );
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let pos = SIGNATURE.length;
  for (;;) {
    if (pos + 12 > bytes.length) {
      throw corrupt(
        pos === bytes.length
          ? "truncated: input ends before the IEND chunk"
          : `truncated: chunk header at byte ${pos} is cut off`,
      );
    }
    const length = view.getUint32(pos);
    const type = chunkType(bytes, pos + 4);
    if (length > MAX_CHUNK_LENGTH) {
      throw corrupt(
        `chunk ${type} at byte ${pos} has invalid length ${length}`,
      );
    }
    const dataEnd = pos + 8 + length;
    if (dataEnd + 4 > bytes.length) {
      throw corrupt(
        `truncated: chunk ${type} at byte ${pos} declares ${length} bytes, ` +
          `only ${Math.max(0, bytes.length - pos - 12)} present`,
      );
    }
    const stored = view.getUint32(dataEnd);
    const computed = crc32(bytes.subarray(pos + 4, dataEnd)) >>> 0;
    if (stored !== computed) {
      throw corrupt(
        `bad CRC in chunk ${type} at byte ${pos}: stored ${hex(stored)}, ` +
          `computed ${hex(computed)}`,
      );
    }
    const data = bytes.subarray(pos + 8, dataEnd);
    pos = dataEnd + 4;
    if (header === undefined && type !== "IHDR") {
      throw corrupt(`first chunk must be IHDR, found ${type}`);
    }
    switch (type) {
      case "IHDR":
        if (header !== undefined) throw corrupt("more than one IHDR chunk");
        header = parseHeader(data, maxPixels);
        break;
      case "PLTE":
        if (palette !== undefined) throw corrupt("more than one PLTE chunk");
        if (idat.length > 0) throw corrupt("PLTE chunk after IDAT");
        if (data.length === 0 || data.length % 3 !== 0 || data.length > 768) {
          throw corrupt(
            `PLTE chunk is ${data.length} bytes; it must hold 1 to 256 ` +
              "RGB triples",
          );
        }
        palette = data;
        break;
      case "tRNS":
        if (transparency !== undefined) {
          throw corrupt("more than one tRNS chunk");
        }
        if (idat.length > 0) throw corrupt("tRNS chunk after IDAT");
        transparency = data;
        break;
      case "IDAT":
        idat.push(data);
        break;
      case "IEND":
        return finish(header!, palette, transparency, idat);
      default:
        // Bit 5 of the first byte clear marks a critical chunk, one a
        // decoder must understand to render the image correctly.
        if ((type.charCodeAt(0) & 0x20) === 0) {
          throw unsupported(`unknown critical chunk ${type}`);
        }
    }
  }
}

function finish(
  header: Header,
  palette: Uint8Array | undefined,
  transparency: Uint8Array | undefined,
  idat: Uint8Array[],
): Chunks {
  if (idat.length === 0) throw corrupt("no IDAT chunk before IEND");
  const { colorType } = header;
  if (colorType === 3 && palette === undefined) {
    throw corrupt("palette image (colour type 3) has no PLTE chunk");
  }
  if (palette !== undefined && (colorType === 0 || colorType === 4)) {
    throw corrupt(
      `PLTE chunk is not allowed in a ${COLOR_TYPE_NAMES[colorType]} image`,
    );
  }
  if (transparency !== undefined) {
    const expected = colorType === 0 ? 2 : colorType === 2 ? 6 : undefined;
    if (colorType === 4 || colorType === 6) {
      throw corrupt(
        `tRNS chunk is not allowed in a ${COLOR_TYPE_NAMES[colorType]} image`,
      );
    }
    if (colorType === 3 && transparency.length > palette!.length / 3) {
      throw corrupt(
        `tRNS chunk has ${transparency.length} entries, palette only ` +
          `${palette!.length / 3}`,
      );
    }
    if (expected !== undefined && transparency.length !== expected) {
      throw corrupt(
        `tRNS chunk is ${transparency.length} bytes; a ` +
          `${COLOR_TYPE_NAMES[colorType]} image needs ${expected}`,
      );
    }
  }
  // A PLTE on RGB or RGBA is only a suggested palette for viewers: ignored.
  return {
    header,
    palette: colorType === 3 ? palette : undefined,
    transparency,
    idat,
  };
}

function chunkType(bytes: Uint8Array, at: number): string {
  let type = "";
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i];
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!letter) {
      throw corrupt(
        `chunk type at byte ${at} is not four ASCII letters ` +
          `(found byte ${hex(c, 2)})`,
      );
    }
    type += String.fromCharCode(c);
  }
  return type;
}

function hex(n: number, digits = 8): string {
  return "0x" + n.toString(16).padStart(digits, "0");
}

function parseHeader(data: Uint8Array, maxPixels: number): Header {
  if (data.length !== 13) {
    throw corrupt(`IHDR chunk is ${data.length} bytes, must be 13`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [depth, colorType, compression, filter, interlace] = data.subarray(8);
  if (
    width === 0 || height === 0 || width > MAX_CHUNK_LENGTH ||
    height > MAX_CHUNK_LENGTH
  ) {
    throw corrupt(`IHDR size ${width}×${height} is invalid`);
  }
  const depths = LEGAL_DEPTHS[colorType];
  if (depths === undefined) {
    throw corrupt(`colour type ${colorType} is invalid`);
  }
  if (!depths.includes(depth)) {
    throw corrupt(
      `bit depth ${depth} is invalid for colour type ${colorType} ` +
        `(${COLOR_TYPE_NAMES[colorType]})`,
    );
  }
  if (compression !== 0) {
    throw corrupt(`compression method ${compression} is invalid`);
  }
  if (filter !== 0) throw corrupt(`filter method ${filter} is invalid`);
  if (interlace > 1) throw corrupt(`interlace method ${interlace} is invalid`);
  if (depth !== 8) {
    throw unsupported(
      `bit depth ${depth} is not supported; only 8-bit samples are ` +
        `(this is a ${depth}-bit ${COLOR_TYPE_NAMES[colorType]} image)`,
    );
  }
  if (interlace === 1) {
    throw unsupported("interlaced (Adam7) PNGs are not supported");
  }
  if (width * height > maxPixels) {
    throw unsupported(
      `image is ${width}×${height} = ${width * height} pixels, above the ` +
        `limit of ${maxPixels}`,
    );
  }
  return { width, height, colorType };
}

/** Inflates the zlib stream into exactly `expected` bytes, or throws. */
async function inflate(
  parts: Uint8Array[],
  expected: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let filled = 0;
  const compressed = new Blob(parts as BlobPart[]).stream();
  const reader = compressed
    .pipeThrough(new DecompressionStream("deflate"))
    .getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (filled + value.length > expected) {
        // Stop early: a small file must not inflate into a huge buffer.
        reader.cancel().catch(() => {});
        throw corrupt(
          `image data inflates to more than the ${expected} bytes ` +
            "the header implies",
        );
      }
      out.set(value, filled);
      filled += value.length;
    }
  } catch (e) {
    if (e instanceof UnsupportedImageError) throw e;
    throw corrupt(
      `image data is not a valid zlib stream (${(e as Error).message})`,
    );
  }
  if (filled < expected) {
    throw corrupt(
      `truncated: image data inflates to ${filled} bytes, the header ` +
        `implies ${expected}`,
    );
  }
  return out;
}

/**
 * Reverses the per-row filters into a fresh buffer without the filter bytes.
 * `left` is the same-row byte one pixel back, `up` the byte above, `corner`
 * the byte above `left`; all count as 0 outside the image.
 */
function unfilter(
  raw: Uint8Array,
  width: number,
  height: number,
  bpp: number,
): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  let src = 0;
  for (let y = 0; y < height; y++) {
    const filter = raw[src++];
    const row = y * stride;
    const up = row - stride;
    switch (filter) {
      case 0:
        out.set(raw.subarray(src, src + stride), row);
        break;
      case 1:
        for (let i = 0; i < bpp; i++) out[row + i] = raw[src + i];
        for (let i = bpp; i < stride; i++) {
          out[row + i] = raw[src + i] + out[row + i - bpp];
        }
        break;
      case 2:
        if (y === 0) {
          out.set(raw.subarray(src, src + stride), row);
        } else {
          for (let i = 0; i < stride; i++) {
            out[row + i] = raw[src + i] + out[up + i];
          }
        }
        break;
      case 3:
        if (y === 0) {
          for (let i = 0; i < bpp; i++) out[row + i] = raw[src + i];
          for (let i = bpp; i < stride; i++) {
            out[row + i] = raw[src + i] + (out[row + i - bpp] >> 1);
          }
        } else {
          for (let i = 0; i < bpp; i++) {
            out[row + i] = raw[src + i] + (out[up + i] >> 1);
          }
          for (let i = bpp; i < stride; i++) {
            out[row + i] = raw[src + i] +
              ((out[row + i - bpp] + out[up + i]) >> 1);
          }
        }
        break;
      case 4:
        if (y === 0) {
          // With no row above, Paeth always predicts `left`: Sub.
          for (let i = 0; i < bpp; i++) out[row + i] = raw[src + i];
          for (let i = bpp; i < stride; i++) {
            out[row + i] = raw[src + i] + out[row + i - bpp];
          }
        } else {
          for (let i = 0; i < bpp; i++) {
            out[row + i] = raw[src + i] + out[up + i];
          }
          // paeth() inlined: this loop dominates decoding photographs.
          for (let i = bpp; i < stride; i++) {
            const a = out[row + i - bpp];
            const b = out[up + i];
            const c = out[up + i - bpp];
            let pa = b - c;
            let pb = a - c;
            let pc = pa + pb;
            if (pa < 0) pa = -pa;
            if (pb < 0) pb = -pb;
            if (pc < 0) pc = -pc;
            out[row + i] = raw[src + i] +
              (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          }
        }
        break;
      default:
        throw corrupt(`row ${y} has unknown filter type ${filter}`);
    }
    src += stride;
  }
  return out;
}

function paeth(left: number, up: number, corner: number): number {
  const p = left + up - corner;
  const pa = Math.abs(p - left);
  const pb = Math.abs(p - up);
  const pc = Math.abs(p - corner);
  if (pa <= pb && pa <= pc) return left;
  return pb <= pc ? up : corner;
}

function expandPalette(
  { width, height }: Header,
  indices: Uint8Array,
  palette: Uint8Array,
  transparency: Uint8Array | undefined,
): RasterImage {
  const entries = palette.length / 3;
  const channels: Channels = transparency === undefined ? 3 : 4;
  const pixels = new Uint8Array(indices.length * channels);
  for (let i = 0, o = 0; i < indices.length; i++, o += channels) {
    const index = indices[i];
    if (index >= entries) {
      throw corrupt(
        `pixel ${i % width},${Math.floor(i / width)} uses palette index ` +
          `${index}, palette has ${entries} entries`,
      );
    }
    pixels[o] = palette[index * 3];
    pixels[o + 1] = palette[index * 3 + 1];
    pixels[o + 2] = palette[index * 3 + 2];
    if (channels === 4) {
      pixels[o + 3] = index < transparency!.length ? transparency![index] : 255;
    }
  }
  return { width, height, channels, pixels };
}

/** tRNS on grey or RGB names one colour (16-bit fields) that is transparent. */
function applyColorKey(
  { width, height, colorType }: Header,
  samples: Uint8Array,
  key: Uint8Array,
): RasterImage {
  const from = colorType === 0 ? 1 : 3;
  const to = (from + 1) as Channels;
  // An 8-bit image uses the low byte; a key above 255 matches nothing.
  const wanted = Array.from(
    { length: from },
    (_, c) => (key[c * 2] << 8) | key[c * 2 + 1],
  );
  const pixels = new Uint8Array(width * height * to);
  for (let i = 0, o = 0; i < samples.length; i += from, o += to) {
    let match = true;
    for (let c = 0; c < from; c++) {
      pixels[o + c] = samples[i + c];
      if (samples[i + c] !== wanted[c]) match = false;
    }
    pixels[o + from] = match ? 0 : 255;
  }
  return { width, height, channels: to, pixels };
}

function checkWidth(fn: string, width: number): void {
  if (!Number.isInteger(width) || width < 1 || width > MAX_THUMBNAIL_WIDTH) {
    throw new RangeError(
      `${fn}: width must be an integer from 1 to ${MAX_THUMBNAIL_WIDTH}, ` +
        `got ${String(width)}`,
    );
  }
}

function checkImage(fn: string, img: RasterImage): void {
  const { width, height, channels, pixels } = img;
  for (const [name, n] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNK_LENGTH) {
      throw new RangeError(
        `${fn}: image ${name} must be a positive integer, got ${String(n)}`,
      );
    }
  }
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new RangeError(
      `${fn}: image channels must be 1, 2, 3 or 4, got ${String(channels)}`,
    );
  }
  if (!(pixels instanceof Uint8Array)) {
    throw new TypeError(`${fn}: image pixels must be a Uint8Array`);
  }
  if (pixels.length !== width * height * channels) {
    throw new RangeError(
      `${fn}: image pixels holds ${pixels.length} bytes; ` +
        `${width}×${height}×${channels} needs ${width * height * channels}`,
    );
  }
}

/**
 * For each destination index, the source indices it covers and how much of
 * each: the box filter's taps along one axis. Output `i` covers source
 * interval `[i·s, (i+1)·s)` with `s = src / dst`, weights summing to 1.
 */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** `dst * span` weights; row `i` holds output i's `count[i]` weights. */
  weights: Float64Array;
  span: number;
}

function boxTaps(src: number, dst: number): Taps {
  const scale = src / dst;
  const span = Math.ceil(scale) + 1;
  const first = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Float64Array(dst * span);
  for (let i = 0; i < dst; i++) {
    const lo = i * scale;
    const hi = Math.min(src, (i + 1) * scale);
    const start = Math.floor(lo);
    const end = Math.min(src, Math.ceil(hi));
    first[i] = start;
    count[i] = end - start;
    for (let j = start; j < end; j++) {
      const overlap = Math.min(hi, j + 1) - Math.max(lo, j);
      weights[i * span + j - start] = overlap / scale;
    }
  }
  return { first, count, weights, span };
}

/**
 * Shrinks an image to `width` columns by area averaging (a box filter: each
 * output pixel is the mean of the source area it covers, partial pixels
 * weighted by coverage), keeping the aspect ratio; the height rounds to the
 * nearest row, at least 1. It never enlarges: a `width` above the image's own
 * returns a same-size copy. Colours are averaged weighted by alpha, so
 * transparent pixels do not bleed their colour into the edges.
 *
 * @throws {RangeError} unless `width` is an integer from 1 to 4096, or when
 * the image's fields are inconsistent.
 *
 * @example
 * ```ts
 * import { resize } from "./png.ts";
 *
 * const img = {
 *   width: 4,
 *   height: 2,
 *   channels: 1 as const,
 *   pixels: new Uint8Array([0, 100, 200, 200, 0, 100, 200, 200]),
 * };
 * const half = resize(img, 2);
 * console.log(half.width, half.height, [...half.pixels]); // 2 1 [50, 200]
 * ```
 */
export function resize(img: RasterImage, width: number): RasterImage {
  checkWidth("resize", width);
  checkImage("resize", img);
  const { width: sw, height: sh, channels, pixels } = img;
  const dw = Math.min(width, sw);
  const dh = Math.max(1, Math.round((sh * dw) / sw));
  if (dw === sw && dh === sh) {
    return { width: sw, height: sh, channels, pixels: pixels.slice() };
  }
  const alpha = channels === 2 || channels === 4 ? channels - 1 : -1;
  const xs = boxTaps(sw, dw);
  const ys = boxTaps(sh, dh);

  // Pass 1, horizontal: every source row shrinks to dw pixels. With alpha,
  // colour samples are premultiplied (colour × alpha) before averaging.
  const mid = new Float64Array(dw * sh * channels);
  for (let y = 0; y < sh; y++) {
    const rowIn = y * sw * channels;
    const rowOut = y * dw * channels;
    for (let x = 0; x < dw; x++) {
      const o = rowOut + x * channels;
      const start = xs.first[x];
      const n = xs.count[x];
      const wBase = x * xs.span;
      for (let k = 0; k < n; k++) {
        const w = xs.weights[wBase + k];
        const p = rowIn + (start + k) * channels;
        if (alpha < 0) {
          for (let c = 0; c < channels; c++) mid[o + c] += pixels[p + c] * w;
        } else {
          const a = pixels[p + alpha];
          const wa = w * a;
          for (let c = 0; c < alpha; c++) mid[o + c] += pixels[p + c] * wa;
          mid[o + alpha] += wa;
        }
      }
    }
  }

  // Pass 2, vertical: rows of `mid` combine into dh output rows.
  const out = new Uint8Array(dw * dh * channels);
  const acc = new Float64Array(dw * channels);
  const rowLen = dw * channels;
  for (let y = 0; y < dh; y++) {
    acc.fill(0);
    const start = ys.first[y];
    const n = ys.count[y];
    for (let k = 0; k < n; k++) {
      const w = ys.weights[y * ys.span + k];
      const r = (start + k) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += mid[r + i] * w;
    }
    const o = y * rowLen;
    if (alpha < 0) {
      for (let i = 0; i < rowLen; i++) out[o + i] = clampByte(acc[i]);
    } else {
      for (let i = 0; i < rowLen; i += channels) {
        const a = acc[i + alpha];
        for (let c = 0; c < alpha; c++) {
          out[o + i + c] = a > 0 ? clampByte(acc[i + c] / a) : 0;
        }
        out[o + i + alpha] = clampByte(a);
      }
    }
  }
  return { width: dw, height: dh, channels, pixels: out };
}

function clampByte(v: number): number {
  const r = Math.round(v);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/**
 * Encodes an image as an 8-bit, non-interlaced PNG: colour type 0, 4, 2 or 6
 * for 1 to 4 channels, or 3 with `palette: true`. Rows are filtered (see
 * {@linkcode EncodeOptions.filter}), the data is compressed with
 * `CompressionStream("deflate")` and split into IDAT chunks of 64 KiB.
 *
 * @throws {RangeError} when the image's fields are inconsistent, or
 * `palette: true` meets more than 256 colours.
 *
 * @example
 * ```ts
 * import { encodePng } from "./png.ts";
 *
 * const png = await encodePng({
 *   width: 16,
 *   height: 16,
 *   channels: 4,
 *   pixels: new Uint8Array(16 * 16 * 4).fill(128),
 * });
 * console.log(png.subarray(1, 4)); // "PNG" in ASCII: 80 78 71
 * ```
 */
export async function encodePng(
  img: RasterImage,
  options: EncodeOptions = {},
): Promise<Uint8Array> {
  checkImage("encodePng", img);
  const filter = options.filter ?? "adaptive";
  if (filter !== "adaptive" && ![0, 1, 2, 3, 4].includes(filter)) {
    throw new RangeError(
      `encodePng: filter must be "adaptive" or 0 to 4, got ${String(filter)}`,
    );
  }
  const { width, height } = img;
  let colorType: number;
  let bpp: number;
  let samples: Uint8Array;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  if (options.palette) {
    ({ indices: samples, palette, transparency } = toPalette(img));
    colorType = 3;
    bpp = 1;
  } else {
    colorType = [0, 0, 4, 2, 6][img.channels];
    bpp = img.channels;
    samples = img.pixels;
  }
  // The PNG spec recommends no filtering for palette images.
  const rowFilter = filter === "adaptive" && colorType === 3 ? 0 : filter;
  const raw = filterRows(samples, width, height, bpp, rowFilter);
  const compressed = await deflate(raw);

  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, colorType, 0, 0, 0], 8);
  const chunks: [string, Uint8Array][] = [["IHDR", ihdr]];
  if (palette) chunks.push(["PLTE", palette]);
  if (transparency) chunks.push(["tRNS", transparency]);
  for (let at = 0; at < compressed.length || at === 0; at += IDAT_SPLIT) {
    chunks.push(["IDAT", compressed.subarray(at, at + IDAT_SPLIT)]);
  }
  chunks.push(["IEND", new Uint8Array(0)]);
  return assemble(chunks);
}

function toPalette(img: RasterImage): {
  indices: Uint8Array;
  palette: Uint8Array;
  transparency?: Uint8Array;
} {
  const { channels, pixels } = img;
  const count = img.width * img.height;
  const indexOf = new Map<number, number>();
  const rgba: number[] = [];
  const indices = new Uint8Array(count);
  for (let i = 0, p = 0; i < count; i++, p += channels) {
    const grey = channels <= 2;
    const r = pixels[p];
    const g = grey ? r : pixels[p + 1];
    const b = grey ? r : pixels[p + 2];
    const a = channels === 2
      ? pixels[p + 1]
      : channels === 4
      ? pixels[p + 3]
      : 255;
    const key = ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
    let index = indexOf.get(key);
    if (index === undefined) {
      index = indexOf.size;
      if (index === 256) {
        throw new RangeError(
          "encodePng: palette: true needs at most 256 distinct colours; " +
            "this image has more",
        );
      }
      indexOf.set(key, index);
      rgba.push(r, g, b, a);
    }
    indices[i] = index;
  }
  const entries = indexOf.size;
  const palette = new Uint8Array(entries * 3);
  let lastTranslucent = -1;
  for (let i = 0; i < entries; i++) {
    palette.set(rgba.slice(i * 4, i * 4 + 3), i * 3);
    if (rgba[i * 4 + 3] !== 255) lastTranslucent = i;
  }
  if (lastTranslucent < 0) return { indices, palette };
  // tRNS may stop early; entries past its end are opaque.
  const transparency = new Uint8Array(lastTranslucent + 1);
  for (let i = 0; i <= lastTranslucent; i++) transparency[i] = rgba[i * 4 + 3];
  return { indices, palette, transparency };
}

/** Prefixes each row with its filter type and filters its bytes. */
function filterRows(
  samples: Uint8Array,
  width: number,
  height: number,
  bpp: number,
  filter: "adaptive" | FilterType,
): Uint8Array {
  const stride = width * bpp;
  const raw = new Uint8Array(height * (stride + 1));
  const candidates = filter === "adaptive"
    ? [0, 1, 2, 3, 4].map(() => new Uint8Array(stride))
    : [];
  for (let y = 0; y < height; y++) {
    const cur = samples.subarray(y * stride, (y + 1) * stride);
    const prev = y === 0
      ? undefined
      : samples.subarray((y - 1) * stride, y * stride);
    const at = y * (stride + 1);
    if (filter !== "adaptive") {
      raw[at] = filter;
      filterRow(filter, cur, prev, bpp, raw.subarray(at + 1, at + 1 + stride));
      continue;
    }
    let best = 0;
    let bestScore = Infinity;
    for (let f = 0; f < 5; f++) {
      const out = candidates[f];
      filterRow(f as FilterType, cur, prev, bpp, out);
      let score = 0;
      for (let i = 0; i < stride; i++) {
        score += out[i] < 128 ? out[i] : 256 - out[i];
      }
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
    }
    raw[at] = best;
    raw.set(candidates[best], at + 1);
  }
  return raw;
}

function filterRow(
  filter: FilterType,
  cur: Uint8Array,
  prev: Uint8Array | undefined,
  bpp: number,
  out: Uint8Array,
): void {
  const n = cur.length;
  for (let i = 0; i < n; i++) {
    const left = i >= bpp ? cur[i - bpp] : 0;
    const up = prev ? prev[i] : 0;
    let predicted: number;
    switch (filter) {
      case 0:
        predicted = 0;
        break;
      case 1:
        predicted = left;
        break;
      case 2:
        predicted = up;
        break;
      case 3:
        predicted = (left + up) >> 1;
        break;
      default:
        predicted = paeth(left, up, prev && i >= bpp ? prev[i - bpp] : 0);
    }
    out[i] = cur[i] - predicted;
  }
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream()
    .pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Signature, then each chunk as length, type, data, CRC-32 of type+data. */
function assemble(chunks: [string, Uint8Array][]): Uint8Array {
  let size = SIGNATURE.length;
  for (const [, data] of chunks) size += 12 + data.length;
  const png = new Uint8Array(size);
  const view = new DataView(png.buffer);
  png.set(SIGNATURE);
  let pos = SIGNATURE.length;
  for (const [type, data] of chunks) {
    view.setUint32(pos, data.length);
    for (let i = 0; i < 4; i++) png[pos + 4 + i] = type.charCodeAt(i);
    png.set(data, pos + 8);
    const end = pos + 8 + data.length;
    view.setUint32(end, crc32(png.subarray(pos + 4, end)) >>> 0);
    pos = end + 4;
  }
  return png;
}

/**
 * Decodes a PNG, shrinks it to `width` columns with {@linkcode resize} and
 * encodes the result: the getter body of the thumbnail server.
 *
 * @throws {RangeError} unless `width` is an integer from 1 to 4096 (checked
 * before any decoding).
 * @throws {UnsupportedImageError} when `bytes` is not a PNG this codec reads.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng, thumbnail } from "./png.ts";
 *
 * const big = await encodePng({
 *   width: 1024,
 *   height: 768,
 *   channels: 3,
 *   pixels: new Uint8Array(1024 * 768 * 3),
 * });
 * const { width, height } = await decodePng(await thumbnail(big, 128));
 * console.log(width, height); // 128 96
 * ```
 */
export async function thumbnail(
  bytes: Uint8Array,
  width: number,
  options: DecodeOptions = {},
): Promise<Uint8Array> {
  checkWidth("thumbnail", width);
  return await encodePng(resize(await decodePng(bytes, options), width));
}
