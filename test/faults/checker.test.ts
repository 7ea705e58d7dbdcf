// The checker itself (pure logic on hand-written histories): it must catch each kind of violation it promises to.
import { describe, expect, it } from 'vitest';
import { check } from './checker.js';
import type { Entry, HistoryEvent } from './history.js';

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
    expect(r.details.length).toBe(3);
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
});
