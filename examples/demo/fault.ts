// The fault: SIGKILL one conductor, SIGSTOP it past its TTL then SIGCONT it, or stop it cleanly, at a moment when
// it is in the middle of operations (holding nodes in transient states).
import { isTransientState } from 'leasehold';
import type { FaultKind } from './cli-options.js';
import type { Dispatcher } from './dispatcher.js';
import type { ConductorProcess } from './fleet.js';
import type { Random } from './random.js';
import type { Timeline } from './timeline.js';

/** What the fault did. */
export interface FaultRecord {
  readonly kind: FaultKind;
  readonly conductor: string;
  readonly pid: number;
  readonly at: number;
  /** When a paused conductor was resumed. */
  resumedAt: number | null;
  /** Nodes whose lease it held at the fault. */
  readonly held: readonly string[];
  /** Of those, the nodes in a transient state: each must be recovered exactly once (kill, pause). */
  readonly expected: readonly string[];
}

export interface FaultContext {
  readonly timeline: Timeline;
  readonly dispatcher: Dispatcher;
  readonly ttlMs: number;
  readonly sweepMs: number;
  readonly log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Nodes `conductor` holds now whose last written state is transient: work in the middle of an operation. */
function midOperation(timeline: Timeline, conductor: string): string[] {
  return timeline
    .heldBy(conductor)
    .map((span) => span.resource.slice('node:'.length))
    .filter((nodeId) => {
      const state = timeline.stateOf(nodeId);
      return state !== null && isTransientState(state);
    });
}

/**
 * Waits (up to two TTLs) for a conductor to be mid-operation, picks the victim among those that are (a seeded
 * choice), applies the fault and resolves once it is over.
 */
export async function injectFault(kind: FaultKind, fleet: readonly ConductorProcess[], random: Random, context: FaultContext): Promise<FaultRecord> {
  const { timeline, dispatcher, ttlMs, sweepMs, log } = context;
  const waitUntil = Date.now() + 2 * ttlMs;
  const busy = (): ConductorProcess[] => fleet.filter((p) => p.alive && midOperation(timeline, p.id).length > 0);
  while (busy().length === 0 && Date.now() < waitUntil) await sleep(20);
  const victim = random.pick(busy().length > 0 ? busy() : fleet);

  const held = timeline.heldBy(victim.id).map((span) => span.resource.slice('node:'.length));
  const expected = kind === 'graceful' ? [] : midOperation(timeline, victim.id);
  const at = Date.now();
  const record: FaultRecord = { kind, conductor: victim.id, pid: victim.pid, at, resumedAt: null, held, expected };
  const holding = held.length ? `holding ${held.join(', ')}` : 'holding no node';
  if (kind === 'kill') {
    dispatcher.withdraw(victim.id, true);
    victim.kill();
    timeline.mark({ kind: 'kill', conductor: victim.id, at });
    log(`SIGKILL ${victim.id} (pid ${victim.pid}), ${holding}: its leases are not released; they expire within the TTL (${ttlMs} ms)`);
    return record;
  }
  if (kind === 'graceful') {
    dispatcher.withdraw(victim.id, false);
    victim.stop();
    timeline.mark({ kind: 'stop', conductor: victim.id, at });
    log(`stopping ${victim.id} gracefully, ${holding}: it finishes its operations and releases every lease`);
    return record;
  }
  dispatcher.withdraw(victim.id, true);
  victim.pause();
  timeline.mark({ kind: 'pause', conductor: victim.id, at });
  log(`SIGSTOP ${victim.id} (pid ${victim.pid}), ${holding}: it keeps believing it holds them while it sleeps past the TTL`);
  // Resume it once its nodes were taken over, so its next writes meet a higher fence in the store.
  const recovered = (): boolean => expected.every((nodeId) => timeline.recoveries.some((r) => r.nodeId === nodeId && r.previous.owner === victim.id));
  const latest = at + 3 * ttlMs + sweepMs;
  while (Date.now() < latest && (Date.now() < at + 1.2 * ttlMs || !recovered())) await sleep(20);
  victim.resume();
  record.resumedAt = Date.now();
  timeline.mark({ kind: 'resume', conductor: victim.id, at: record.resumedAt });
  log(`SIGCONT ${victim.id} after ${((record.resumedAt - at) / 1000).toFixed(1)} s: it wakes up mid-step and writes with its old fences`);
  return record;
}
