/**
 * Logger: where the pool and the peer sources report what went wrong — a
 * console-shaped object, `console` by default, {@linkcode silentLogger} to
 * say nothing.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/**
 * Where the pool and discovery report what happened: a console-shaped
 * object. The default is `console`; pass {@linkcode silentLogger} (or any
 * object of no-op methods) to silence it.
 */
export interface Logger {
  /** Detail nobody needs in production. */
  debug(...data: unknown[]): void;
  /** Changes worth a line: peers joined or left, registered again. */
  info(...data: unknown[]): void;
  /** Something is wrong and is being worked around (kept the last list). */
  warn(...data: unknown[]): void;
  /** Something is wrong and cannot be worked around. */
  error(...data: unknown[]): void;
}

const quiet = (): void => {};

/**
 * A logger that says nothing: the `logger` option of a pool or a peer
 * source that should stay silent.
 *
 * @example A quiet pool
 * ```ts
 * import { HttpPool, Registry, silentLogger } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://a:1", {
 *   registry: new Registry(),
 *   logger: silentLogger,
 * });
 * assert.equal(pool.logger, silentLogger);
 * ```
 */
export const silentLogger: Logger = Object.freeze({
  debug: quiet,
  info: quiet,
  warn: quiet,
  error: quiet,
});

/** Checks a user's logger, defaulting to `console`. */
export function loggerOption(logger: unknown): Logger {
  if (logger === undefined) return console;
  const methods = ["debug", "info", "warn", "error"] as const;
  if (
    typeof logger !== "object" || logger === null ||
    !methods.every((m) => typeof (logger as Logger)[m] === "function")
  ) {
    throw new ConfigError(
      "logger must have debug, info, warn and error methods, like console",
    );
  }
  return logger as Logger;
}
