/**
 * Runs `emit` (an event emission) so that a listener that throws can never escape into a timer or a Redis
 * callback: the exception goes to `onError` instead.
 */
export function emitGuarded(onError: (error: unknown) => void, emit: () => void): void {
  try {
    emit();
  } catch (error) {
    onError(error);
  }
}

/**
 * Reports a background failure to an emitter's `error` listeners, or as a process warning when it has none (or
 * its listener throws). Never throws: background work must not crash the process nor fail silently.
 */
export function reportBackground(emitter: { listenerCount(event: 'error'): number; emit(event: 'error', error: unknown): boolean }, error: unknown): void {
  if (emitter.listenerCount('error') > 0) {
    try {
      emitter.emit('error', error);
      return;
    } catch {
      // an error listener that throws: fall through to the warning
    }
  }
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), { code: 'LEASEHOLD_BACKGROUND_ERROR' });
}
