// Draws the sample images for the thumbnail example and writes them, encoded
// with ./png.ts, into examples/images/. Deterministic: no randomness.
//
//   deno run -A examples/make_images.ts    (or: bun examples/make_images.ts)
//
// gradient.png    1024×768 RGB   smooth two-axis colour gradient
// mandelbrot.png  1024×768 RGB   smooth-coloured Mandelbrot set (busy detail)
// checkerboard.png 640×480 RGB   32-pixel squares with a diagonal tint
// circle.png       640×480 RGBA  anti-aliased disc on a transparent ground
// palette.png       96×64  palette (colour type 3) with a transparent entry
// grey.png         256×64  greyscale (colour type 0) ramp with a sine band
import { mkdir, writeFile } from "node:fs/promises";
import { type EncodeOptions, encodePng, type RasterImage } from "./png.ts";

type Channels = RasterImage["channels"];

function draw(
  width: number,
  height: number,
  channels: Channels,
  pixel: (x: number, y: number) => number[],
): RasterImage {
  const pixels = new Uint8Array(width * height * channels);
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = pixel(x, y);
      for (let c = 0; c < channels; c++) pixels[o++] = p[c];
    }
  }
  return { width, height, channels, pixels };
}

const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

function gradient(): RasterImage {
  return draw(1024, 768, 3, (x, y) =>
    [
      (x / 1023) * 255,
      (y / 767) * 255,
      255 - ((x + y) / (1023 + 767)) * 255,
    ].map(byte));
}

function mandelbrot(): RasterImage {
  const maxIter = 200;
  return draw(1024, 768, 3, (x, y) => {
    const cr = -2.2 + (x / 1024) * 3.2;
    const ci = -1.2 + (y / 768) * 2.4;
    let zr = 0, zi = 0, i = 0;
    while (i < maxIter && zr * zr + zi * zi < 256) {
      const t = zr * zr - zi * zi + cr;
      zi = 2 * zr * zi + ci;
      zr = t;
      i++;
    }
    if (i === maxIter) return [0, 0, 0];
    // Continuous escape count, so bands blend instead of stepping.
    const mu = i + 1 - Math.log2(Math.log2(Math.sqrt(zr * zr + zi * zi)));
    const t = mu / 40;
    return [
      127.5 + 127.5 * Math.sin(t * 6.283 + 0.0),
      127.5 + 127.5 * Math.sin(t * 6.283 + 2.1),
      127.5 + 127.5 * Math.sin(t * 6.283 + 4.2),
    ].map(byte);
  });
}

function checkerboard(): RasterImage {
  return draw(640, 480, 3, (x, y) => {
    const dark = ((x >> 5) + (y >> 5)) % 2 === 0;
    const tint = ((x + y) / (640 + 480)) * 80;
    return dark
      ? [byte(30 + tint), 40, byte(60 + tint / 2)]
      : [230, byte(220 - tint), byte(200 - tint)];
  });
}

function circle(): RasterImage {
  const cx = 320, cy = 240, r = 200;
  return draw(640, 480, 4, (x, y) => {
    const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
    const coverage = Math.max(0, Math.min(1, r + 0.5 - d));
    return [
      byte(255 - (d / r) * 120),
      byte(120 + (x / 640) * 100),
      byte(40 + (y / 480) * 180),
      byte(coverage * 255),
    ];
  });
}

function palette(): RasterImage {
  // Sixteen vertical stripes of distinct colours, with a transparent frame.
  return draw(96, 64, 4, (x, y) => {
    if (x < 4 || y < 4 || x >= 92 || y >= 60) return [0, 0, 0, 0];
    const i = Math.floor((x - 4) / 5.5);
    return [(i * 53) % 256, (i * 97 + 40) % 256, (i * 151 + 90) % 256, 255];
  });
}

function grey(): RasterImage {
  return draw(256, 64, 1, (x, y) => {
    const band = Math.abs(y - 32 - 16 * Math.sin(x / 20)) < 4;
    return [band ? 255 - x : x];
  });
}

const images: [string, RasterImage, EncodeOptions?][] = [
  ["gradient.png", gradient()],
  ["mandelbrot.png", mandelbrot()],
  ["checkerboard.png", checkerboard()],
  ["circle.png", circle()],
  ["palette.png", palette(), { palette: true }],
  ["grey.png", grey()],
];

const dir = new URL("./images/", import.meta.url);
await mkdir(dir, { recursive: true });
let total = 0;
for (const [name, img, options] of images) {
  const png = await encodePng(img, options);
  await writeFile(new URL(name, dir), png);
  total += png.length;
  console.log(
    `${name.padEnd(17)} ${img.width}×${img.height}×${img.channels}  ` +
      `${(png.length / 1024).toFixed(1)} KiB`,
  );
}
console.log(`total ${(total / 1024).toFixed(1)} KiB`);
