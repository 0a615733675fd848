// The real services some tests start: dnsmasq (DNS records), etcd (peer
// registry), promtool (Prometheus' metrics linter) and chromium (the status
// page's browser), from Debian's dnsmasq-base, etcd-server, prometheus and
// chromium packages. Every process is started
// through ./proc.ts (stopped by PID, killed with this process) on free
// loopback ports, every wait has a bound. Runs under Deno, Bun and Node.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { freePort, freePorts } from "./ports.ts";
import { hasCommand, runToExit, type Server, startServer } from "./proc.ts";

/** A real component a test needs, and the Debian package that brings it. */
export type Service = "dnsmasq" | "etcd" | "promtool" | "chromium";

const PACKAGES: Record<Service, string> = {
  dnsmasq: "dnsmasq-base",
  etcd: "etcd-server",
  promtool: "prometheus",
  chromium: "chromium",
};

/** True when `service`'s command can be started. */
export function hasService(service: Service): boolean {
  return hasCommand(service);
}

/**
 * The node:test `skip` option of a test that needs `service`: `false` when
 * it is installed, a reason locally; under CI=true a missing one is an error,
 * so the test fails rather than skips.
 */
export function skipWithout(service: Service): string | false {
  if (hasService(service)) return false;
  const install = `apt-get install --no-install-recommends ${
    PACKAGES[service]
  }`;
  if (process.env.CI === "true") {
    throw new Error(`CI=true but ${service} is missing: ${install}`);
  }
  return `${service} is not installed (${install})`;
}

/** Resolves once `test()` is true; rejects past `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  test: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await test()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) {
      throw new Error(`${what}: not within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A service process that can be stopped and started again, and its temporary directory. */
class Restartable {
  readonly dir: string;
  server: Server | undefined;
  readonly #launch: () => Promise<Server>;

  constructor(name: string, launch: (dir: string) => Promise<Server>) {
    this.dir = mkdtempSync(join(tmpdir(), `groupcache-${name}-`));
    this.#launch = () => launch(this.dir);
  }

  async start(): Promise<void> {
    this.server = await this.#launch();
  }

  /** SIGTERM (or SIGKILL: nothing flushed, no goodbye), then waits for the exit. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    if (signal === "SIGKILL") process.kill(server.pid, "SIGKILL");
    await server.stop();
  }

  /** Stops it and removes its directory. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- dnsmasq ---------------------------------------------------------------

/** A dnsmasq answering from a hosts file and SRV records, on 127.0.0.1. */
export interface Dnsmasq {
  /** "127.0.0.1:PORT", for `nameServer`. */
  readonly nameServer: string;
  readonly port: number;
  readonly pid: number;
  /** Replaces the hosts file ("ADDRESS NAME..." lines), reloads (SIGHUP) and waits until it is read. */
  setHosts(lines: string): Promise<void>;
  /** Stops it (its port stays known: `start()` brings it back there). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same records. */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

/**
 * Starts dnsmasq with `hosts` as its hosts file and `srv` as SRV records
 * ("_gc._tcp.peers.test,TARGET,PORT,PRIORITY,WEIGHT"; fixed for its life).
 * Local records have TTL 0. Only names in the records resolve; others are
 * refused (no upstream).
 */
export async function startDnsmasq(
  options: { hosts?: string; srv?: string[] } = {},
): Promise<Dnsmasq> {
  const port = await freePort();
  let hostsFile = "";
  const service = new Restartable("dnsmasq", (dir) =>
    startServer("dnsmasq", [
      "--no-daemon",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      "--user=root",
      `--pid-file=${join(dir, "pid")}`,
      `--addn-hosts=${hostsFile}`,
      ...(options.srv ?? []).map((s) => `--srv-host=${s}`),
    ], {
      ready: new RegExp(`read ${hostsFile} - \\d+ names`),
      readyOn: "stderr",
      timeoutMs: 10_000,
      name: `dnsmasq on :${port}`,
    }));
  hostsFile = join(service.dir, "hosts");
  writeFileSync(hostsFile, options.hosts ?? "");
  const reads = (s: Server) => s.output().split(`read ${hostsFile}`).length - 1;
  await service.start();
  return {
    nameServer: `127.0.0.1:${port}`,
    port,
    get pid() {
      return service.server?.pid ?? 0;
    },
    async setHosts(lines: string) {
      const s = service.server!;
      const before = reads(s);
      writeFileSync(hostsFile, lines);
      process.kill(s.pid, "SIGHUP");
      await waitFor("dnsmasq re-reads its hosts file", () => reads(s) > before);
    },
    stop: () => service.stop(),
    start: () => service.start(),
    close: () => service.close(),
  };
}

// ---- etcd ------------------------------------------------------------------

/** A one-member etcd on 127.0.0.1, its data in a temporary directory. */
export interface Etcd {
  /** "http://127.0.0.1:PORT", for `endpoint`. */
  readonly endpoint: string;
  readonly pid: number;
  /** What it logged so far (the last 64 KiB). */
  output(): string;
  /** SIGKILLs it: nothing is flushed or said goodbye to. */
  kill(): Promise<void>;
  /** Starts it again on the same ports; `wipe` starts from an empty data directory. */
  start(options?: { wipe?: boolean }): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

/** Starts etcd (3.4: the v3 JSON gateway at /v3/*) on free loopback ports. */
export async function startEtcd(): Promise<Etcd> {
  const [client, peer, metrics] = await freePorts(3);
  const endpoint = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const service = new Restartable("etcd", (dir) =>
    startServer("etcd", [
      "--name",
      "t",
      "--data-dir",
      join(dir, "data"),
      "--listen-client-urls",
      endpoint,
      "--advertise-client-urls",
      endpoint,
      "--listen-peer-urls",
      peerUrl,
      "--initial-advertise-peer-urls",
      peerUrl,
      "--initial-cluster",
      `t=${peerUrl}`,
      "--listen-metrics-urls",
      `http://127.0.0.1:${metrics}`,
    ], {
      ready: /ready to serve client requests/,
      readyOn: "stderr",
      timeoutMs: 20_000,
      name: `etcd on :${client}`,
    }));
  await service.start();
  return {
    endpoint,
    get pid() {
      return service.server?.pid ?? 0;
    },
    output: () => service.server?.output() ?? "",
    kill: () => service.stop("SIGKILL"),
    async start(options: { wipe?: boolean } = {}) {
      if (options.wipe) {
        rmSync(join(service.dir, "data"), { recursive: true, force: true });
      }
      await service.start();
    },
    close: () => service.close(),
  };
}

/** The keys under `prefix` in etcd, decoded, with their values. */
export async function etcdKeys(
  endpoint: string,
  prefix: string,
): Promise<Record<string, string>> {
  const b64 = (s: string) => btoa(s);
  const end = prefix.slice(0, -1) +
    String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const res = await fetch(`${endpoint}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({ key: b64(prefix), range_end: b64(end) }),
    signal: AbortSignal.timeout(5_000),
  });
  const json = await res.json() as { kvs?: { key: string; value: string }[] };
  return Object.fromEntries(
    (json.kvs ?? []).map((kv) => [atob(kv.key), atob(kv.value)]),
  );
}

// ---- promtool --------------------------------------------------------------

/**
 * Runs `promtool check metrics` on `text`; resolves with what it printed
 * (empty when the metrics are clean: no error, no lint warning).
 */
export async function promtoolCheck(text: string): Promise<string> {
  const r = await runToExit("promtool", ["check", "metrics"], {
    input: text,
    timeoutMs: 20_000,
  });
  const said = (r.stdout + r.stderr).trim();
  if (r.code !== 0 && said === "") return `promtool exited with ${r.code}`;
  return said;
}
