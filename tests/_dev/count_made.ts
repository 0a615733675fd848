// Counts the objects of a web class code makes while it runs: tests that a
// path makes no AbortController of its own (src/asking.ts), or one Response
// per kept answer (src/http_handler.ts), swap the global class for a
// counting subclass.

/** The global classes a test can count. */
export type Counted = "AbortController" | "Response";

/** `run`'s result, and how many `name`s were made while it ran. */
export async function countMade<T>(
  name: Counted,
  run: () => Promise<T>,
): Promise<{ result: T; made: number }> {
  const classes = globalThis as unknown as Record<
    Counted,
    new (...args: unknown[]) => object
  >;
  const Original = classes[name];
  let made = 0;
  classes[name] = class extends Original {
    constructor(...args: unknown[]) {
      super(...args);
      made++;
    }
  };
  try {
    const result = await run();
    return { result, made };
  } finally {
    classes[name] = Original;
  }
}
