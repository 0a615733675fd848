// examples/thumbnails.ts's WIDTHS, what it rounds `?w=` up to: a copy, since
// the example starts its server when imported. tests/examples_test.ts checks
// that the example's 400 for another width lists these.

/** The widths the thumbnail example makes thumbnails at. */
export const THUMBNAIL_WIDTHS: readonly number[] = [
  16,
  32,
  48,
  64,
  96,
  128,
  160,
  200,
  256,
  320,
  400,
  512,
  640,
  1024,
  2048,
  4096,
];
