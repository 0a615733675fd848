// Draws the sample images of examples/thumbnails.ts and writes them into
// examples/images/, one per input format, encoded with sharp. Deterministic
// drawings; run it again only to change the samples (the files are committed):
//
//   npx -y deno@2.9.6 run -A tests/_dev/make_images.ts
//
// big-file.jpg     800×600  JPEG  the seed's file: a landscape with a sun
// circle.png       320×240  PNG   an anti-aliased disc on a transparent ground
// mandelbrot.webp  640×480  WebP  the Mandelbrot set (busy detail)
// stripes.gif       96×64   GIF   sixteen flat colours, a transparent frame
// gradient.avif    480×360  AVIF  a smooth two-axis gradient
import { mkdirSync } from "node:fs";
import sharp, { type Sharp } from "sharp";
import { join, root } from "./paths.ts";

type Pixel = (x: number, y: number) => number[];

const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

/** A sharp pipeline over raw pixels that `pixel` draws. */
function draw(
  width: number,
  height: number,
  channels: 3 | 4,
  pixel: Pixel,
): Sharp {
  const data = new Uint8Array(width * height * channels);
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (const v of pixel(x, y).slice(0, channels)) data[o++] = byte(v);
    }
  }
  return sharp(data, { raw: { width, height, channels } });
}

function landscape(): Sharp {
  const [w, h] = [800, 600];
  return draw(w, h, 3, (x, y) => {
    const hill = h * 0.62 + 40 * Math.sin(x / 90) + 25 * Math.sin(x / 37);
    if (y > hill) return [40 + (y - hill) / 4, 110 + 30 * Math.sin(x / 60), 50];
    const sun = Math.hypot(x - 600, y - 160);
    if (sun < 70) return [255, 220, 120];
    const glow = Math.max(0, 1 - sun / 300) * 60;
    return [90 + y / 5 + glow, 150 + y / 6 + glow / 2, 235 - y / 8];
  });
}

function circle(): Sharp {
  const [w, h, r] = [320, 240, 100];
  return draw(w, h, 4, (x, y) => {
    const d = Math.hypot(x + 0.5 - w / 2, y + 0.5 - h / 2);
    return [
      255 - (d / r) * 120,
      120 + (x / w) * 100,
      40 + (y / h) * 180,
      Math.max(0, Math.min(1, r + 0.5 - d)) * 255,
    ];
  });
}

function mandelbrot(): Sharp {
  const [w, h, maxIter] = [640, 480, 200];
  return draw(w, h, 3, (x, y) => {
    const cr = -2.2 + (x / w) * 3.2, ci = -1.2 + (y / h) * 2.4;
    let zr = 0, zi = 0, i = 0;
    while (i < maxIter && zr * zr + zi * zi < 256) {
      [zr, zi] = [zr * zr - zi * zi + cr, 2 * zr * zi + ci];
      i++;
    }
    if (i === maxIter) return [0, 0, 0];
    // A continuous escape count, so colour bands blend instead of stepping.
    const t = (i + 1 - Math.log2(Math.log2(Math.hypot(zr, zi)))) / 40 * 6.283;
    return [0, 2.1, 4.2].map((phase) => 127.5 + 127.5 * Math.sin(t + phase));
  });
}

function stripes(): Sharp {
  return draw(96, 64, 4, (x, y) => {
    if (x < 4 || y < 4 || x >= 92 || y >= 60) return [0, 0, 0, 0];
    const i = Math.floor((x - 4) / 5.5);
    return [(i * 53) % 256, (i * 97 + 40) % 256, (i * 151 + 90) % 256, 255];
  });
}

function gradient(): Sharp {
  const [w, h] = [480, 360];
  return draw(w, h, 3, (x, y) => [
    (x / (w - 1)) * 255,
    (y / (h - 1)) * 255,
    255 - ((x + y) / (w + h - 2)) * 255,
  ]);
}

const images: [string, Sharp][] = [
  ["big-file.jpg", landscape().jpeg({ quality: 80, mozjpeg: true })],
  ["circle.png", circle().png({ palette: true })],
  ["mandelbrot.webp", mandelbrot().webp({ quality: 70 })],
  ["stripes.gif", stripes().gif()],
  ["gradient.avif", gradient().avif({ quality: 50 })],
];

const dir = join(root, "examples", "images");
mkdirSync(dir, { recursive: true });
let total = 0;
for (const [name, image] of images) {
  const info = await image.toFile(join(dir, name));
  total += info.size;
  console.log(
    `${name.padEnd(16)} ${info.width}×${info.height} ${
      info.format.padEnd(5)
    } ` +
      `${(info.size / 1024).toFixed(1)} KiB`,
  );
}
console.log(`total ${(total / 1024).toFixed(1)} KiB`);
