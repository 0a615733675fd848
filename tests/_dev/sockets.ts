// The TCP connections this process holds, read from Linux's /proc (what
// `ss -tnp` shows, for this process only). A connection this process has
// closed but the kernel still winds down (FIN-WAIT, TIME-WAIT: `ss -tn`
// lists those too) belongs to no process and is not counted.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Socket inodes of this process's open file descriptors. */
function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m !== null) inodes.add(m[1]);
  }
  return inodes;
}

/** Kernel TCP states by their /proc/net/tcp code. */
const STATES: Record<string, string> = {
  "01": "ESTABLISHED",
  "02": "SYN-SENT",
  "03": "SYN-RECV",
  "04": "FIN-WAIT-1",
  "05": "FIN-WAIT-2",
  "06": "TIME-WAIT",
  "07": "CLOSE",
  "08": "CLOSE-WAIT",
  "09": "LAST-ACK",
  "0A": "LISTEN",
  "0B": "CLOSING",
};

/**
 * The connections to 127.0.0.1:`port` (any state) held open by this
 * process, counted by state, e.g. `{ ESTABLISHED: 3 }`; `{}` when none.
 */
export function connectionsTo(port: number): Record<string, number> {
  const own = ownSocketInodes();
  const counts: Record<string, number> = {};
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const remotePort = parseInt(f[2].split(":")[1], 16);
      if (remotePort !== port || !own.has(f[9])) continue;
      const state = STATES[f[3]] ?? f[3];
      counts[state] = (counts[state] ?? 0) + 1;
    }
  }
  return counts;
}
