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
