// Counts the AbortControllers code makes: tests that a path makes none of
// its own (src/asking.ts) swap the global class for a counting one.

/** `run`'s result, and how many `AbortController`s were made while it ran. */
export async function countAbortControllers<T>(
  run: () => Promise<T>,
): Promise<{ result: T; made: number }> {
  const Original = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      made++;
    }
  };
  try {
    const result = await run();
    return { result, made };
  } finally {
    globalThis.AbortController = Original;
  }
}
