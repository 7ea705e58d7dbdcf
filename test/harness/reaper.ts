import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let installed = false;

function reapAll(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  children.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // Best effort: a just-killed server may still hold it for a moment.
    }
  }
  dirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', reapAll);
  // 'exit' does not run when a signal kills us (vitest stops its fork workers with SIGTERM),
  // so also reap on signals, then let the signal take its course.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      reapAll();
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
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Registers a temporary directory to be removed if this process exits before {@link forgetDir}. */
export function removeOnExit(dir: string): void {
  install();
  dirs.add(dir);
}

/** Unregisters a directory the owner has removed itself. */
export function forgetDir(dir: string): void {
  dirs.delete(dir);
}
