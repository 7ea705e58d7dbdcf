// The checker itself (pure logic on hand-written histories): it must catch each kind of violation it promises to.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check } from './checker.js';
import { readHistory, type Entry, type HistoryEvent } from './history.js';

let clock = 0;
const at = (who: string, pid: number, event: HistoryEvent, t = (clock += 10)): Entry => ({ ...event, t, who, pid });

describe('history checker', () => {
  it('finds nothing wrong in a clean history', () => {
    clock = 0;
    const h = [
      at('a', 1, { kind: 'acquire-ok', resource: 'r', fence: 5, previousFence: null }),
      at('a', 1, { kind: 'write-ok', resource: 'r', fence: 5, sentAt: clock + 1 }),
      at('a', 1, { kind: 'released', resource: 'r', fence: 5 }),
      at('b', 2, { kind: 'acquire-ok', resource: 'r', fence: 6, previousFence: null }),
      at('b', 2, { kind: 'write-ok', resource: 'r', fence: 6, sentAt: clock + 1 }),
      at('a', 1, { kind: 'write-rejected', resource: 'r', fence: 5, error: 'STALE_FENCE', sentAt: clock + 1 }),
      at('b', 2, { kind: 'released', resource: 'r', fence: 6 }),
    ];
    const r = check(h, { endOfRun: clock + 1, expectRecovery: true });
    expect(r).toMatchObject({ acquisitions: 2, writesAccepted: 2, writesRejected: 1, overlaps: 0, fencesNotGrowing: 0, staleWritesAccepted: 0, currentWritesRejected: 0 });
  });

  it('catches overlaps, fences that do not grow, and stale writes accepted', () => {
    clock = 0;
    const h = [
      at('a', 1, { kind: 'acquire-ok', resource: 'r', fence: 5, previousFence: null }),
      at('b', 2, { kind: 'acquire-ok', resource: 'r', fence: 5, previousFence: null }),
      at('b', 2, { kind: 'write-ok', resource: 'r', fence: 7, sentAt: clock + 1 }),
      at('a', 1, { kind: 'write-ok', resource: 'r', fence: 5, sentAt: clock + 1 }),
    ];
    const r = check(h, { endOfRun: clock + 1, expectRecovery: false });
    expect(r.overlaps).toBe(1);
    expect(r.fencesNotGrowing).toBe(1);
    expect(r.staleWritesAccepted).toBe(1);
    expect(r.leasesUnaccounted).toBe(2); // neither a nor b said released or lost
    expect(r.details.length).toBe(5);
  });

  it('ends a belief at the holder\'s validity deadline, so a paused holder is no overlap', () => {
    clock = 0;
    const h = [
      at('a', 1, { kind: 'acquire-ok', resource: 'r', fence: 1, previousFence: null }, 0),
      at('a', 1, { kind: 'valid', resource: 'r', fence: 1, until: 100 }, 1),
      at('b', 2, { kind: 'acquire-ok', resource: 'r', fence: 2, previousFence: 1 }, 150),
      at('a', 1, { kind: 'lost', resource: 'r', fence: 1, reason: 'deadline' }, 400),
    ];
    expect(check(h, { endOfRun: 500, expectRecovery: false }).overlaps).toBe(0);
    const late = [...h.slice(0, 2), at('b', 2, { kind: 'acquire-ok', resource: 'r', fence: 2, previousFence: 1 }, 90), h[3]!];
    expect(check(late, { endOfRun: 500, expectRecovery: false }).overlaps).toBe(1);
  });

  it('does not call a write stale when it was in flight while the higher fence landed (the store ordered them)', () => {
    const h = [
      at('b', 2, { kind: 'write-ok', resource: 'r', fence: 7, sentAt: 2 }, 10),
      at('a', 1, { kind: 'write-ok', resource: 'r', fence: 5, sentAt: 1 }, 50),
    ];
    expect(check(h, { endOfRun: 100, expectRecovery: false }).staleWritesAccepted).toBe(0);
    const late = [h[0]!, at('a', 1, { kind: 'write-ok', resource: 'r', fence: 5, sentAt: 20 }, 50)];
    expect(check(late, { endOfRun: 100, expectRecovery: false }).staleWritesAccepted).toBe(1);
  });

  it('counts orphans of killed holders recovered once, twice and never', () => {
    clock = 0;
    const h = [
      at('a', 1, { kind: 'acquire-ok', resource: 'x', fence: 1, previousFence: null }),
      at('a', 1, { kind: 'acquire-ok', resource: 'y', fence: 1, previousFence: null }),
      at('a', 1, { kind: 'acquire-ok', resource: 'z', fence: 1, previousFence: null }),
      at('runner', 0, { kind: 'killed', victim: 1 }),
      at('m', 3, { kind: 'recovered', resource: 'x', fence: 2, previousFence: 1, to: 'clean failed' }),
      at('m', 3, { kind: 'recovered', resource: 'y', fence: 2, previousFence: 1, to: 'clean failed' }),
      at('m', 4, { kind: 'recovered', resource: 'y', fence: 3, previousFence: 1, to: 'clean failed' }),
    ];
    const r = check(h, { endOfRun: clock + 1, expectRecovery: true });
    expect(r).toMatchObject({ orphansRecoveredOnce: 1, orphansRecoveredTwice: 1, orphansNeverRecovered: 1 });
  });

  it('counts stale writes refused by the fence, and leases neither released nor reported lost', () => {
    clock = 0;
    const h = [
      at('a', 1, { kind: 'acquire-ok', resource: 'r', fence: 1, previousFence: null }),
      at('a', 1, { kind: 'lost', resource: 'r', fence: 1, reason: 'deadline' }),
      at('b', 2, { kind: 'acquire-ok', resource: 'r', fence: 2, previousFence: 1 }),
      at('b', 2, { kind: 'write-ok', resource: 'r', fence: 2, sentAt: clock }),
      at('a', 1, { kind: 'write-rejected', resource: 'r', fence: 1, error: 'STALE_FENCE', sentAt: clock }),
      at('c', 3, { kind: 'acquire-ok', resource: 's', fence: 1, previousFence: null }),
    ];
    const r = check(h, { endOfRun: clock + 1, expectRecovery: false });
    expect(r).toMatchObject({ staleWritesRejected: 1, staleWritesAccepted: 0, leasesLost: 1, leasesUnaccounted: 2 });
    expect(r.details).toEqual([
      'lease of b on r (fence 2) was neither released nor reported lost',
      'lease of c on s (fence 1) was neither released nor reported lost',
    ]);
  });

  it('treats lost leases as orphans with lostAreOrphans, and credits a recovery naming an unknown fence to the latest', () => {
    clock = 0;
    const h = [
      at('a', 1, { kind: 'acquire-ok', resource: 'x', fence: 1, previousFence: null }),
      at('a', 1, { kind: 'lost', resource: 'x', fence: 1, reason: 'deadline' }),
      at('a', 1, { kind: 'acquire-ok', resource: 'y', fence: 1, previousFence: null }),
      at('a', 1, { kind: 'lost', resource: 'y', fence: 1, reason: 'deadline' }),
      // x: its orphan was taken over by a grant given back unused (fence 5, never an acquire-ok), then recovered.
      at('m', 3, { kind: 'recovered', resource: 'x', fence: 6, previousFence: 5, to: 'clean failed', trigger: 'sweep' }),
    ];
    expect(check(h, { endOfRun: clock + 1, expectRecovery: true })).toMatchObject({ orphansRecoveredOnce: 0, orphansNeverRecovered: 0 });
    const r = check(h, { endOfRun: clock + 1, expectRecovery: true, lostAreOrphans: true });
    expect(r).toMatchObject({ orphansRecoveredOnce: 1, orphansNeverRecovered: 1, recoveredBy: { sweep: 1, event: 0, acquire: 0, other: 0 } });
    expect(r.details).toEqual(['orphan of a (lease lost) on y (fence 1) was never recovered']);
  });

  it('measures recovery time after a kill, lateness of losses, and progress after each fault', () => {
    const h = [
      at('a', 1, { kind: 'acquire-ok', resource: 'x', fence: 1, previousFence: null }, 0),
      at('b', 2, { kind: 'acquire-ok', resource: 'y', fence: 1, previousFence: null }, 5),
      at('b', 2, { kind: 'valid', resource: 'y', fence: 1, until: 500 }, 6),
      at('runner', 0, { kind: 'fault', name: 'one' }, 10),
      at('runner', 0, { kind: 'killed', victim: 1 }, 100),
      at('b', 2, { kind: 'lost', resource: 'y', fence: 1, reason: 'deadline' }, 530),
      at('c', 4, { kind: 'acquire-ok', resource: 'z', fence: 1, previousFence: null }, 600),
      at('c', 4, { kind: 'released', resource: 'z', fence: 1 }, 610),
      at('runner', 0, { kind: 'fault', name: 'two' }, 700),
      at('m', 3, { kind: 'recovered', resource: 'x', fence: 2, previousFence: 1, to: 'clean failed', trigger: 'event' }, 1_350),
      at('m', 3, { kind: 'recovered', resource: 'y', fence: 2, previousFence: 1, to: 'clean failed', trigger: 'acquire' }, 1_400),
    ];
    const r = check(h, { endOfRun: 2_000, expectRecovery: true, lostAreOrphans: true });
    expect(r).toMatchObject({ killed: 1, orphansRecoveredOnce: 2, recoveryMaxMs: 1_250, lossLateMaxMs: 30, acquisitionsAfterFault: [1, 0], faults: 2 });
    expect(r.recoveredBy).toEqual({ event: 1, sweep: 0, acquire: 1, other: 0 });
  });

  it('allows an overlap after a fault that breaks exclusion, also when the first grant was in flight as the fault came', () => {
    const breaks = 'the clock does not step';
    const h: Entry[] = [
      // a asked at 90; the fault is recorded at 100; a's grant is answered at 101 (Redis may have granted it before 100).
      at('runner', 0, { kind: 'fault', name: 'clock jump', breaks }, 100),
      at('a', 1, { kind: 'acquire-ok', resource: 'r', fence: 1, previousFence: null, startedAt: 90 }, 101),
      at('b', 2, { kind: 'acquire-ok', resource: 'r', fence: 2, previousFence: null, startedAt: 110 }, 120),
      at('b', 2, { kind: 'released', resource: 'r', fence: 2 }, 130),
      at('a', 1, { kind: 'released', resource: 'r', fence: 1 }, 140),
    ];
    expect(check(h, { endOfRun: 200, expectRecovery: false })).toMatchObject({ overlaps: 0, overlapsAllowed: 1 });
    // Asked after the fault: the fault cannot explain the overlap.
    const later = h.map((e) => (e.kind === 'acquire-ok' && e.who === 'a' ? { ...e, startedAt: 100.5 } : e));
    expect(check(later, { endOfRun: 200, expectRecovery: false })).toMatchObject({ overlaps: 1, overlapsAllowed: 0 });
  });

  it('reports waits of a contention storm: who never got it, and the most grants to others during one wait', () => {
    const h: Entry[] = [];
    // Three waiters from t = 0: a gets it three times, b once (after waiting through a's three grants), c never.
    for (const [t, waited] of [[10, 10], [20, 5], [30, 5]] as const) h.push(at('a', 1, { kind: 'acquire-ok', resource: 'r', fence: t, previousFence: null, waitedMs: waited }, t));
    h.push(at('b', 2, { kind: 'acquire-ok', resource: 'r', fence: 40, previousFence: null, waitedMs: 40 }, 40));
    h.push(at('c', 3, { kind: 'acquire-fail', resource: 'r', waitedMs: 50 }, 50));
    const f = check(h, { endOfRun: 60, expectRecovery: false }).fairness;
    expect(f).toMatchObject({ workers: 3, workersNeverAcquired: 1, minPerWorker: 0, maxPerWorker: 3, maxWaitMs: 40, maxUnfinishedWaitMs: 50, maxBypassed: 4 });
    expect(check(h.filter((e) => e.who === 'c'), { endOfRun: 60, expectRecovery: false }).fairness).toBeNull();
  });

  it('reads only whole lines of a history still being appended to (a read can see part of a write)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'leasehold-history-')), 'history.jsonl');
    const line = (t: number): string => `${JSON.stringify({ kind: 'killed', victim: 1, t, who: 'w', pid: 1 })}\n`;
    writeFileSync(file, line(2) + line(1) + '{"kind":"acq');
    expect(readHistory(file).map((e) => e.t)).toEqual([1, 2]);
    writeFileSync(file, line(2) + line(1));
    expect(readHistory(file)).toHaveLength(2);
  });
});
