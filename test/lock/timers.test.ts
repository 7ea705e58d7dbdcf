// Pure scheduling logic, so fake timers are fine here (behaviour against Redis is tested elsewhere).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getEventListeners } from 'node:events';
import { DeadlineTimer, Repeater, sleep, unlessAborted, whenAborted } from '../../src/lock/timers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Repeater', () => {
  it('never overlaps runs: the next run is armed only after the previous one settled', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const repeater = new Repeater(
      100,
      async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 250)); // slower than the interval
        running--;
      },
      () => undefined,
    );
    repeater.start();
    await vi.advanceTimersByTimeAsync(1_000);
    repeater.stop();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(3); // at 100, 450, 800 ms: interval counted from the end of each run
  });

  it('passes a failing run to onError and keeps going; stop() is safe twice', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const repeater = new Repeater(
      10,
      () => {
        runs++;
        return Promise.reject(new Error('boom'));
      },
      (error) => errors.push(error),
    );
    repeater.start();
    repeater.start();
    await vi.advanceTimersByTimeAsync(35);
    repeater.stop();
    repeater.stop();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(3);
    expect(errors).toHaveLength(3);
  });
});

describe('DeadlineTimer', () => {
  it('fires once at the earliest armed deadline', async () => {
    let now = 0;
    const fired: number[] = [];
    const timer = new DeadlineTimer(
      () => now,
      () => fired.push(now),
    );
    timer.arm(500);
    timer.arm(200);
    timer.arm(300); // later than the armed one: no change
    for (let t = 0; t < 1_000; t += 50) {
      now = t;
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(fired).toHaveLength(1);
    timer.arm(100);
    timer.clear();
    await vi.advanceTimersByTimeAsync(500);
    expect(fired).toHaveLength(1);
  });
});

describe('unlessAborted', () => {
  it('settles as the work does, rejects with the reason at an abort, and leaves an already aborted signal to the caller', async () => {
    const controller = new AbortController();
    await expect(unlessAborted(Promise.resolve(1), controller.signal)).resolves.toBe(1);
    await expect(unlessAborted(Promise.reject(new Error('work failed')), controller.signal)).rejects.toThrow('work failed');
    let finish: (value: number) => void = () => undefined;
    const work = new Promise<number>((resolve) => (finish = resolve));
    const waiting = unlessAborted(work, controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    finish(2); // the work goes on; its outcome is dropped
    await expect(work).resolves.toBe(2);
    await expect(unlessAborted(Promise.resolve(3), controller.signal)).resolves.toBe(3); // already aborted
  });
});

describe('whenAborted', () => {
  it('puts one listener on a signal however many wait on it, calls each once at the abort, and cancels', async () => {
    const controller = new AbortController();
    const called: number[] = [];
    const cancels = Array.from({ length: 32 }, (_, i) => whenAborted(controller.signal, () => called.push(i)));
    const sleeping = Array.from({ length: 32 }, () => sleep(60_000, controller.signal).catch((error: unknown) => error));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1); // Node warns past 10
    cancels[0]!();
    controller.abort(new Error('stop'));
    expect(called).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    for (const slept of await Promise.all(sleeping)) expect(slept).toMatchObject({ message: 'stop' });
    const later = new AbortController(); // a signal no longer waited on keeps no callback
    const cancel = whenAborted(later.signal, () => called.push(-1));
    cancel();
    later.abort();
    expect(called).not.toContain(-1);
  });
});
