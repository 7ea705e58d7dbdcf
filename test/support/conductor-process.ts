// A conductor in a child process of its own (test/fixtures/conductor-process.ts), driven over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { eventually } from './wait.js';

const root = resolve(import.meta.dirname, '../..');

/** A message from a conductor process. */
export type Message = { type: string; [key: string]: unknown };

const children = new Set<ChildProcess>();

/** SIGKILLs every conductor process still running (for afterAll). */
export function killConductorProcesses(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** A conductor process: its pid, and a way to send it a command and await the reply of a given type. */
export class ConductorProcess {
  readonly child: ChildProcess;
  readonly #inbox: Message[] = [];
  readonly #waiters: ((m: Message) => boolean)[] = [];

  constructor(env: Record<string, string>) {
    this.child = fork(resolve(root, 'test/fixtures/conductor-process.ts'), {
      cwd: root,
      execArgv: ['--import', 'tsx', '--import', './tools/lua-text.mjs'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(this.child);
    this.child.on('exit', () => children.delete(this.child));
    this.child.on('message', (m: Message) => {
      const i = this.#waiters.findIndex((w) => w(m));
      if (i >= 0) this.#waiters.splice(i, 1);
      else this.#inbox.push(m);
    });
  }

  /** The next message of `type` (a `failed` message rejects). */
  next(type: string, ms = 20_000): Promise<Message> {
    return eventually<Message>((deliver) => {
      const take = (m: Message): boolean => {
        if (m.type !== type && m.type !== 'failed') return false;
        deliver(m);
        return true;
      };
      const i = this.#inbox.findIndex((m) => m.type === type || m.type === 'failed');
      if (i >= 0) take(this.#inbox.splice(i, 1)[0]!);
      else this.#waiters.push(take);
    }, ms, `"${type}" from conductor process ${this.child.pid}`).then((m) => {
      if (m.type === 'failed') throw new Error(`conductor process failed: ${String(m.error)}`);
      return m;
    });
  }

  async ask(command: object, reply: string): Promise<Message> {
    this.child.send(command);
    return this.next(reply);
  }

  exited(): Promise<void> {
    return new Promise((done) => (this.child.exitCode !== null || this.child.signalCode !== null ? done() : this.child.once('exit', () => done())));
  }
}

