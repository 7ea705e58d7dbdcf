// InFlight: what close()/stop() wait for. Pure scheduling, no Redis.
import { describe, expect, it } from 'vitest';
import { InFlight } from '../../src/lock/in-flight.js';

describe('InFlight', () => {
  it('drained() waits for tracked work, also work tracked while it waits, and never rejects', async () => {
    const inFlight = new InFlight();
    const order: string[] = [];
    let finishFirst: () => void = () => undefined;
    const first = inFlight.track(new Promise<void>((resolve) => (finishFirst = resolve)).then(() => order.push('first')));
    const failing = inFlight.track(Promise.reject(new Error('refused')));
    await expect(failing).rejects.toThrow('refused'); // the caller still sees its own rejection
    const drained = inFlight.drained().then(() => order.push('drained'));
    // Work that starts while drained() waits (a hand-over sent by a release during close()) is waited for too.
    let finishSecond: () => void = () => undefined;
    void inFlight.track(new Promise<void>((resolve) => (finishSecond = resolve)).then(() => order.push('second')));
    finishFirst();
    await first;
    await Promise.resolve();
    expect(order).toEqual(['first']);
    finishSecond();
    await drained;
    expect(order).toEqual(['first', 'second', 'drained']);
    await expect(new InFlight().drained()).resolves.toBeUndefined(); // nothing in flight: at once
  });
});
