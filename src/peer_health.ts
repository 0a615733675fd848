/**
 * PeerHealth: whether a remote peer is worth asking. A peer that times out,
 * refuses or resets a connection is marked down: its keys load locally at
 * once instead of each waiting out the timeout. While it is down, at most one
 * probe at a time asks whether it is back, each failed probe doubling the
 * wait before the next (up to a cap); the first answer re-admits it. Any HTTP
 * answer counts as alive, a getter's 500 included: health is about the
 * process, not about one key.
 *
 * @module
 */

import type { PeerError } from "./errors.ts";

/** Whether a peer is asked for its keys (`"up"`) or skipped (`"down"`). */
export type PeerState = "up" | "down";

/** The health of one peer, as {@linkcode HttpPool.peerHealth} reports it. */
export interface PeerHealthInfo {
  /** The peer's base URL. */
  readonly peer: string;
  /** `"down"`: its keys load locally until a probe finds it answering. */
  readonly state: PeerState;
  /** Failed requests and probes since its last answer. */
  readonly consecutiveFailures: number;
  /** The last failure (kept after it recovers), if any. */
  readonly lastError: PeerError | undefined;
  /** Whether a probe is in flight. */
  readonly probing: boolean;
  /** When it last answered (`Date.now()` time), if it ever did. */
  readonly lastAnswerAt: number | undefined;
}

/** The waits between probes of a down peer. */
export interface ProbeBackoff {
  /** The wait before the first probe, doubled after each failed one. */
  readonly delayMs: number;
  /** The longest wait between probes. */
  readonly maxDelayMs: number;
}

/**
 * The health of one peer. Not exported from mod.ts: the pool keeps one per
 * peer and reports it through {@linkcode HttpPool.peerHealth}.
 *
 * @example Down on a failure, probed with backoff, up on an answer
 * ```ts
 * import { PeerHealth } from "./peer_health.ts";
 * import { PeerError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 0;
 * const health = new PeerHealth({ delayMs: 100, maxDelayMs: 300 }, () => now);
 * const error = new PeerError("no answer", {
 *   peer: "http://b:1", group: "g", key: "k", reason: "timeout",
 * });
 * assert.equal(health.failed(error), true); // it just went down
 * assert.equal(health.up, false);
 * assert.equal(health.probeDue(), false); // too early
 * now = 100;
 * assert.equal(health.probeDue(), true); // this caller probes
 * assert.equal(health.probeDue(), false); // one probe at a time
 * health.probeFailed(error);
 * now = 250;
 * assert.equal(health.probeDue(), false); // the wait doubled: next at 300
 * now = 300;
 * assert.equal(health.probeDue(), true);
 * health.probeAnswered();
 * assert.equal(health.up, true);
 * assert.equal(health.info("http://b:1").consecutiveFailures, 0);
 * ```
 */
export class PeerHealth {
  #state: PeerState = "up";
  #failures = 0;
  #failedProbes = 0;
  #lastError: PeerError | undefined;
  #probing = false;
  #nextProbeAt = 0;
  #answeredAt: number | undefined;
  readonly #backoff: ProbeBackoff;
  readonly #now: () => number;
  readonly #onChange: ((state: PeerState) => void) | undefined;

  /**
   * @param backoff The waits between probes while down.
   * @param now The clock in milliseconds; injectable for tests.
   * @param onChange Told when the peer goes down or comes back up (logs).
   */
  constructor(
    backoff: ProbeBackoff,
    now: () => number = () => performance.now(),
    onChange?: (state: PeerState) => void,
  ) {
    this.#backoff = backoff;
    this.#now = now;
    this.#onChange = onChange;
  }

  /** Whether the peer is up (asked for its keys). */
  get up(): boolean {
    return this.#state === "up";
  }

  /** The peer answered (any HTTP status): it is up, its failures forgotten. */
  answered(): void {
    this.#answeredAt = Date.now();
    if (this.#failures === 0) return; // up, the common case
    this.#state = "up";
    this.#failures = 0;
    this.#onChange?.("up");
  }

  /**
   * A request to the peer timed out or its connection failed. Returns true
   * when this failure took the peer down (the caller then releases the
   * requests still waiting on it).
   */
  failed(error: PeerError): boolean {
    this.#failures++;
    this.#lastError = error;
    if (this.#state === "down") return false;
    this.#state = "down";
    this.#failedProbes = 0;
    this.#nextProbeAt = this.#now() + this.#backoff.delayMs;
    this.#onChange?.("down");
    return true;
  }

  /**
   * Whether a probe should start now: the peer is down, none is in flight
   * and the wait has passed. A true answer claims the probe: report its
   * outcome with {@linkcode PeerHealth.probeAnswered} or
   * {@linkcode PeerHealth.probeFailed}.
   */
  probeDue(): boolean {
    if (this.#state === "up" || this.#probing) return false;
    if (this.#now() < this.#nextProbeAt) return false;
    this.#probing = true;
    return true;
  }

  /** The probe got an answer: the peer is up again. */
  probeAnswered(): void {
    this.#probing = false;
    this.answered();
  }

  /** The probe got no answer: wait twice as long (up to the cap) for the next. */
  probeFailed(error: PeerError): void {
    this.#probing = false;
    if (this.#state === "up") return; // another request got an answer meanwhile
    this.#failures++;
    this.#lastError = error;
    this.#failedProbes++;
    const { delayMs, maxDelayMs } = this.#backoff;
    const wait = Math.min(maxDelayMs, delayMs * 2 ** this.#failedProbes);
    this.#nextProbeAt = this.#now() + wait;
  }

  /** A snapshot for reports. */
  info(peer: string): PeerHealthInfo {
    return {
      peer,
      state: this.#state,
      consecutiveFailures: this.#failures,
      lastError: this.#lastError,
      probing: this.#probing,
      lastAnswerAt: this.#answeredAt,
    };
  }
}
