// The conductor processes, seen from the demo: fork them, order them around, and do real harm to one (SIGKILL,
// SIGSTOP/SIGCONT) or stop it cleanly.
import { fork, type ChildProcess } from 'node:child_process';
import type { Order, Report } from './protocol.js';

/** Where a conductor process is in its life, as the demo knows it. */
export type ProcessStatus = 'starting' | 'running' | 'paused' | 'resumed' | 'stopping' | 'stopped' | 'killed' | 'crashed';

/** One forked conductor process. */
export class ConductorProcess {
  readonly id: string;
  readonly child: ChildProcess;
  status: ProcessStatus = 'starting';
  readonly exited: Promise<void>;
  #stderr = '';

  constructor(id: string, config: object, onReport: (report: Report) => void) {
    this.id = id;
    this.child = fork(new URL('./conductor-process.ts', import.meta.url), [], {
      execArgv: process.execArgv, // the same TypeScript loader as the demo's
      env: { ...process.env, LEASEHOLD_DEMO_CONDUCTOR: JSON.stringify({ ...config, id }) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk.toString()).slice(-4_000)));
    this.child.on('message', (report: Report) => {
      if (report.type === 'ready' && this.status === 'starting') this.status = 'running';
      onReport(report);
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        if (this.status !== 'killed') this.status = code === 0 ? 'stopped' : 'crashed';
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The end of what the process wrote to stderr (shown when it crashes). */
  get stderr(): string {
    return this.#stderr.trim();
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(order: Order): void {
    if (this.alive && this.child.connected) this.child.send(order);
  }

  kill(): void {
    this.status = 'killed';
    this.child.kill('SIGKILL');
  }

  pause(): void {
    this.status = 'paused';
    this.child.kill('SIGSTOP');
  }

  /** SIGCONT: it runs again (the demo gives it no new work). */
  resume(): void {
    this.status = 'resumed';
    this.child.kill('SIGCONT');
  }

  /** Asks for a graceful stop: running operations finish, every lease is released, the process exits. */
  stop(): void {
    if (!this.alive) return;
    this.status = 'stopping';
    this.send({ type: 'stop' });
  }
}

/** Forks `count` conductor processes named conductor-1..N and resolves once each has started and registered. */
export async function startFleet(count: number, config: object, onReport: (report: Report) => void, timeoutMs: number): Promise<ConductorProcess[]> {
  const fleet = Array.from({ length: count }, (_, i) => new ConductorProcess(`conductor-${i + 1}`, config, onReport));
  const ready = (p: ConductorProcess): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${p.id} did not start within ${timeoutMs} ms`)), timeoutMs);
      p.child.on('message', (report: Report) => {
        if (report.type !== 'ready') return;
        clearTimeout(timer);
        resolve();
      });
      void p.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${p.id} exited while starting${p.stderr ? `:\n${p.stderr}` : ''}`));
      });
    });
  try {
    await Promise.all(fleet.map(ready));
  } catch (error) {
    for (const p of fleet) if (p.alive) p.child.kill('SIGKILL');
    throw error;
  }
  return fleet;
}
