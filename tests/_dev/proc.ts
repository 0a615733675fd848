// Child processes of the dev tools (tests, benches, the demo): start a server
// and wait, with a bound, for the line that says it listens; stop it
// (SIGTERM, then SIGKILL); run a command to its end, with a bound or
// synchronously. Every child started here is SIGKILLed when this process
// exits, and on SIGINT or SIGTERM unless the script listens for the signal
// itself. Runs under Deno, Bun and Node.
import {
  type ChildProcess,
  spawn,
  spawnSync,
  type SpawnSyncReturns,
} from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";

/** Every child started here that has not exited yet, and its exit. */
const children = new Map<ChildProcess, Promise<void>>();
/** The children that lead a process group of their own (see `group`). */
const leaders = new WeakSet<ChildProcess>();
let hooked = false;

/** Signals `child`, and its whole process group if it leads one. */
function signal(
  child: ChildProcess,
  sig: "SIGTERM" | "SIGKILL" | "SIGSTOP" | "SIGCONT",
): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // Not child.kill: Deno's ChildProcess sends nothing more once it has sent
  // one signal, and a stopped child needs SIGCONT before SIGTERM.
  if (leaders.has(child)) {
    try {
      process.kill(-child.pid!, sig);
      return;
    } catch { /* the group is gone: signal the child alone */ }
  }
  try {
    process.kill(child.pid!, sig);
  } catch { /* gone meanwhile */ }
}

/**
 * Waits (up to 1 s, blocking) until the kernel shows `pid` stopped: a test
 * that pauses a peer and asks it at once must not race the stop (a paused Go
 * node answered once in about 70 runs).
 */
function untilStopped(pid: number): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 1_000; waited++) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return; // gone, or no /proc: nothing to wait for
    }
    // "pid (comm) S ...": the state follows the last ")".
    const state = stat.slice(stat.lastIndexOf(")") + 2)[0];
    if (state === "T" || state === "t") return;
    Atomics.wait(pause, 0, 0, 1);
  }
  throw new Error(`process ${pid} did not stop within 1 s of SIGSTOP`);
}

function killAll(): void {
  for (const child of children.keys()) {
    if (child.exitCode === null && child.signalCode === null) {
      signal(child, "SIGKILL");
    }
  }
  children.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, () => {
      // A script with a listener of its own (the demo) stops its children.
      if (process.listenerCount(signal) > 1) return;
      killAll();
      process.exit(code);
    });
  }
}

/** Spawns a child that is killed with this process; resolves `exited` once it is gone. */
function track(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; group?: boolean },
): { child: ChildProcess; exited: Promise<void> } {
  hookExit();
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    detached: options.group === true,
    // A pipe this process holds: a child that watches its stdin can exit
    // when this process dies.
    stdio: ["pipe", "pipe", "pipe"],
    env: options.env === undefined
      ? process.env
      : { ...process.env, ...options.env },
  });
  const exited = new Promise<void>((resolve) => {
    const gone = () => {
      children.delete(child);
      resolve();
    };
    child.once("exit", gone);
    child.once("error", gone);
  });
  children.set(child, exited);
  if (options.group === true && child.pid !== undefined) leaders.add(child);
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  return { child, exited };
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited.
 * A SIGCONT goes first: a stopped child could not act on SIGTERM.
 */
async function stop(
  child: ChildProcess,
  exited: Promise<void>,
  graceMs: number,
): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    signal(child, "SIGCONT");
    signal(child, "SIGTERM");
    const timer = setTimeout(() => signal(child, "SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Keeps the last 64 KiB of what a child printed. */
function tail(text: string): string {
  return text.length > 1 << 16 ? text.slice(-(1 << 16)) : text;
}

/** How to start a server with {@linkcode startServer}. */
export interface ServerOptions {
  /**
   * The line that says it is ready (default `/^listening (\S+)$/m`); its
   * first group, if any, becomes `address`.
   */
  ready?: RegExp;
  /** Which stream prints the ready line (default stdout; etcd and dnsmasq log to stderr). */
  readyOn?: "stdout" | "stderr";
  /** How long to wait for that line (default 20 s); then it is killed. */
  timeoutMs?: number;
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** How error messages name it (default: its command line). */
  name?: string;
  /**
   * Starts it in a process group of its own and signals the whole group, for
   * commands that leave their children behind when signalled (`npx`).
   */
  group?: boolean;
}

/** A child process that printed its ready line. */
export interface Server {
  /** The ready line's first group, e.g. "127.0.0.1:40123", else the line. */
  readonly address: string;
  readonly pid: number;
  /** What it wrote to stderr so far (the last 64 KiB). */
  stderr(): string;
  /** What it wrote to stdout and stderr so far (the last 64 KiB). */
  output(): string;
  /** SIGSTOP: the kernel still accepts its connections, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `cmd args` and resolves once its stdout matches `ready`. If it exits
 * first, cannot start or stays silent past the timeout, it is killed and the
 * promise rejects with a message that carries its stderr.
 */
export function startServer(
  cmd: string,
  args: string[],
  options: ServerOptions = {},
): Promise<Server> {
  const ready = options.ready ?? /^listening (\S+)$/m;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const name = options.name ?? `${cmd} ${args.join(" ")}`;
  const { child, exited } = track(cmd, args, options);
  let stdout = "", stderr = "", output = "";
  let seen = "";
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal(child, "SIGKILL");
      // Let stderr drain so the message carries the child's own words.
      setTimeout(() => {
        const said = stderr.trim();
        reject(
          new Error(
            `${name} ${why}` + (said ? `; stderr:\n${said}` : "; no stderr"),
          ),
        );
      }, 50);
    };
    const timer = setTimeout(
      () => fail(`printed no ready line (${ready}) within ${timeoutMs} ms`),
      timeoutMs,
    );
    child.once("error", (err) => fail(`could not start: ${err.message}`));
    child.once("exit", (code, signal) => {
      fail(`exited before listening (code ${code}, signal ${signal})`);
    });
    const watch = (s: string) => {
      if (done) return;
      seen = tail(seen + s);
      const m = ready.exec(seen);
      if (m === null) return;
      done = true;
      clearTimeout(timer);
      resolve({
        address: m[1] ?? m[0],
        pid: child.pid!,
        stderr: () => stderr,
        output: () => output,
        pause: () => {
          signal(child, "SIGSTOP");
          untilStopped(child.pid!);
        },
        resume: () => signal(child, "SIGCONT"),
        stop: (graceMs = 3000) => stop(child, exited, graceMs),
      });
    };
    child.stdout!.on("data", (s: string) => {
      stdout = tail(stdout + s);
      output = tail(output + s);
      if (options.readyOn !== "stderr") watch(s);
    });
    child.stderr!.on("data", (s: string) => {
      stderr = tail(stderr + s);
      output = tail(output + s);
      if (options.readyOn === "stderr") watch(s);
    });
  });
}

/** How a command run by {@linkcode runToExit} ended. */
export interface Exited {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd args` to its end, with `input` (default none) on its stdin.
 * Past `timeoutMs` it is killed and the promise rejects with what it printed.
 */
export function runToExit(
  cmd: string,
  args: string[],
  options: { cwd?: string; input?: string; timeoutMs: number; group?: boolean },
): Promise<Exited> {
  const { child } = track(cmd, args, options);
  child.stdin!.end(options.input ?? "");
  let stdout = "", stderr = "";
  child.stdout!.on("data", (s: string) => stdout += s);
  child.stderr!.on("data", (s: string) => stderr += s);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal(child, "SIGKILL");
      reject(
        new Error(
          `${cmd} ${args.join(" ")} ran over ${options.timeoutMs} ms\n` +
            `stdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, options.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs a command to completion; throws with its stderr when it fails. */
export function runSync(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): string {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: env === undefined ? process.env : { ...process.env, ...env },
  });
  if (r.error !== undefined) {
    throw new Error(`${cmd}: could not start: ${r.error.message}`);
  }
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}:\n` +
        r.stderr,
    );
  }
  return r.stdout;
}

/** True when `cmd` can be started (whatever it then exits with). */
export function hasCommand(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).error === undefined;
}

/** Stops every child started here that still runs (SIGTERM, then SIGKILL). */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all(
    [...children].map(([child, exited]) => stop(child, exited, graceMs)),
  );
}
