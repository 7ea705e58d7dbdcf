// The shared history of a fault scenario: every process appends one JSON line per event to one file (O_APPEND, lines
// far below the size at which appends could interleave). Timestamps come from the system-wide monotonic clock
// (process.hrtime on Linux is CLOCK_MONOTONIC, the same in every process), so events of different processes order.
import { appendFileSync, readFileSync } from 'node:fs';

/** One event of the history. */
export type HistoryEvent =
  /**
   * `waitedMs`: how long the acquire call waited (contention storm), from its start to the grant. `startedAt`: when
   * the acquire call started (monotonic ms); Redis granted the lease somewhere between it and the event's `t`.
   */
  | { kind: 'acquire-ok'; resource: string; fence: number; previousFence: number | null; waitedMs?: number; startedAt?: number }
  /** `error`: why, when it was not a plain "held by someone else" (e.g. QuorumError); `waitedMs` as above. */
  | { kind: 'acquire-fail'; resource: string; error?: string; waitedMs?: number }
  | { kind: 'valid'; resource: string; fence: number; until: number }
  | { kind: 'lost'; resource: string; fence: number; reason: string }
  | { kind: 'released'; resource: string; fence: number }
  /** A write's outcome, recorded when its answer came; `sentAt` is when it was sent (monotonic ms). */
  | { kind: 'write-ok'; resource: string; fence: number; sentAt: number }
  | { kind: 'write-rejected'; resource: string; fence: number; error: string; sentAt: number }
  /** `trigger`: how the orphan was found: an expiry event, a sweep, or a worker's acquire (absent in old histories). */
  | { kind: 'recovered'; resource: string; fence: number; previousFence: number; to: string; trigger?: 'event' | 'sweep' | 'acquire' | 'operator' }
  | { kind: 'killed'; victim: number }
  /**
   * `breaks`: the documented assumption of mutual exclusion this fault breaks on purpose (a Redis clock jump): an
   * overlap of a holder from before it with a rival from after it is then allowed (see checker.ts).
   */
  | { kind: 'fault'; name: string; detail?: string; breaks?: string };

/** An event as stored: when (monotonic ms), who (process label and pid), what. */
export type Entry = HistoryEvent & { t: number; who: string; pid: number };

/** Monotonic milliseconds, comparable across processes of this host. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Appends events to the history file as this process (`who`). */
export class HistoryWriter {
  constructor(
    readonly file: string,
    readonly who: string,
  ) {}

  record(event: HistoryEvent): void {
    appendFileSync(this.file, `${JSON.stringify({ ...event, t: now(), who: this.who, pid: process.pid })}\n`);
  }
}

/**
 * Reads a history file, ordered by time. Read while processes still append (a scenario looking for a holder to
 * kill), the file may end in a line still being written: a read of a regular file can see part of a concurrent
 * write. Only lines ended by their newline are read; once every writer has exited, that is all of them.
 */
export function readHistory(file: string): Entry[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Entry)
    .sort((a, b) => a.t - b.t);
}
