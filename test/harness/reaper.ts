import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  // 'exit' does not run when a signal kills us (vitest stops its fork workers with SIGTERM),
  // so also reap on signals, then let the signal take its course.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // Re-raise only if nobody else handles it; otherwise their handler decides how to exit.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/**
 * Registers a child process to be SIGKILLed (synchronously) if this process exits or is
 * signalled while the child still runs. The child is forgotten once it exits.
 */
export function reapOnExit(child: ChildProcess): void {
  install();
  live.add(child);
  child.once('exit', () => live.delete(child));
}
