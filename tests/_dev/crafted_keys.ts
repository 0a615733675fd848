// Keys crafted to collide under a seeded multiply-and-shift string hash
// (the LRU's before HalfSipHash, issue 20), whatever its seed: flipping the
// top bit of a 32-bit word flips bits 31 and 15 of the mixed state, which
// flipping the same bits of the next word cancels. Each gadget of four
// UTF-16 units can be flipped or not: `count` keys (a power of two), all of
// one length, that such a hash sends to one bucket.

/** `count` distinct crafted keys (a power of two up to 2^20). */
export function craftedKeys(count: number): string[] {
  const gadgets = Math.round(Math.log2(count));
  const keys: string[] = [];
  for (let n = 0; n < count; n++) {
    const units: number[] = [107, 101, 121, 58]; // "key:"
    for (let g = 0; g < gadgets; g++) {
      const flip = (n >> g) & 1 ? 0x8000 : 0;
      units.push(97, 97 ^ flip, 97 ^ flip, 97 ^ flip);
    }
    keys.push(String.fromCharCode(...units));
  }
  return keys;
}

/** `count` keys of the crafted keys' length, random ASCII after "key:". */
export function randomKeys(count: number, random: () => number): string[] {
  const length = 4 + 4 * Math.round(Math.log2(count));
  return Array.from({ length: count }, () => {
    let key = "key:";
    while (key.length < length) key += String.fromCharCode(97 + random() * 26);
    return key;
  });
}

/**
 * `count` keys (a power of two) built to stress a tabulation hash (the XOR
 * of a random word per position and character, src/string_hash.ts): "key:"
 * then every combination of "a" or "b" at each of log2(count) positions, so
 * that their hashes are the XORs of every subset of a few table words (a
 * linear subspace, the structure that hash cannot hide), ASCII and of the
 * crafted keys' length.
 */
export function productKeys(count: number): string[] {
  const positions = Math.round(Math.log2(count));
  const length = 4 + 4 * positions;
  const keys: string[] = [];
  for (let n = 0; n < count; n++) {
    let key = "key:";
    for (let p = 0; p < positions; p++) key += (n >> p) & 1 ? "b" : "a";
    keys.push(key.padEnd(length, "a"));
  }
  return keys;
}
