// A logger that records what it is told, for tests that assert log lines.
import type { Logger } from "../../mod.ts";

/** One recorded line: its level and its text (the arguments joined by spaces). */
export type LogLine = ["debug" | "info" | "warn" | "error", string];

/** A console-shaped logger that keeps every line, and how to search them. */
export function recordingLogger(): {
  logger: Logger;
  lines: LogLine[];
  /** The lines at `level` whose text matches `pattern`. */
  find(level: LogLine[0], pattern: RegExp): string[];
} {
  const lines: LogLine[] = [];
  const at = (level: LogLine[0]) => (...data: unknown[]) => {
    lines.push([level, data.map(String).join(" ")]);
  };
  return {
    logger: {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
    },
    lines,
    find: (level, pattern) =>
      lines.filter(([l, text]) => l === level && pattern.test(text)).map((
        [, text],
      ) => text),
  };
}
