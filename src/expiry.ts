/**
 * Which expiries can travel: the wire carries one as int64 Unix nanoseconds
 * (mailgun's `expire`), so a value's expiry must be a whole number of Unix
 * milliseconds no later than 2262-04-11, or it would arrive as another
 * instant (wrapped past 2^63 ns, or rounded). Checked where an expiry comes
 * in (a set, a getter's answer), so that no node holds one it cannot send.
 *
 * @module
 */

/** The latest expiry int64 nanoseconds can carry, in Unix ms (2262-04-11). */
export const MAX_EXPIRE_MS = 9_223_372_036_854;

/**
 * What is wrong with `expire` (Unix ms, `0`: never) as an expiry that
 * travels, or `undefined` when nothing is.
 */
export function expiryProblem(expire: number): string | undefined {
  if (expire === 0) return undefined;
  if (!Number.isInteger(expire)) {
    return `expiry ${expire} is not a whole number of Unix milliseconds`;
  }
  if (expire < 0 || expire > MAX_EXPIRE_MS) {
    return `expiry ${expire} is outside 0..${MAX_EXPIRE_MS} Unix ` +
      "milliseconds (1970 to 2262, what the wire's int64 nanoseconds carry)";
  }
  return undefined;
}

/**
 * Throws a `RangeError` when `set(key, …)` was given an expiry (its own, or
 * its value's) that cannot travel; a non-number is left to `ByteView`,
 * whose `TypeError` says so.
 */
export function checkSetExpiry(key: string, expire: number): void {
  const problem = Number.isFinite(expire) ? expiryProblem(expire) : undefined;
  if (problem !== undefined) {
    throw new RangeError(`set ${JSON.stringify(key)}: the ${problem}`);
  }
}
