// A mixed cluster of real Go groupcache nodes (Debian's package, built at
// test time) and TypeScript nodes served by this runtime's own server
// (the tests: ./_dev/interop_suite.ts).
import type { HttpPool } from "../mod.ts";
import { describeInterop } from "./_dev/interop_suite.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import { serve } from "./_dev/serve.ts";

describeInterop({
  label: runtimeName(),
  async serve() {
    let handler: HttpPool["handler"] | undefined;
    const served = await serve((req) => handler!(req));
    return {
      url: served.url,
      attach: (pool) => handler = pool.handler,
      close: () => served.close(),
    };
  },
  pool: () => ({}),
  resolvesDots: runtimeName() === "bun",
});
