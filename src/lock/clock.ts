/** Milliseconds on a monotonic clock: never jumps with wall-clock changes. All deadlines use it. */
export function monotonicNow(): number {
  return performance.now();
}
