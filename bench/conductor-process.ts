// The parent's side of bench/conductor-child.ts: forks a real conductor process, sends it commands, awaits its
// replies, and kills it with SIGKILL. Every child still running is killed when the benchmark ends.
import { fork, type ChildProcess } from 'node:child_process';
import type { ChildCommand } from './conductor-child.js';

const ROOT = new URL('../', import.meta.url);
const SCRIPT = new URL('bench/conductor-child.ts', ROOT);

/** A message from the child. */
export interface ChildMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every conductor process still running (for the end of the run, whatever happened). */
export function killAllConductors(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Settings of one conductor process. */
export interface ConductorProcessOptions {
  /** The lock server (standalone); ignored when `clusterNodes` is given. */
  readonly redisUrl: string;
  /** A Redis Cluster's nodes (`host:port`): locks and registry go there through an ioredis Cluster client. */
  readonly clusterNodes?: readonly string[];
  /** A standalone server for the node store (default: the lock client's server). */
  readonly storeUrl?: string;
  readonly prefix: string;
  readonly id: string;
  readonly ttlMs: number;
}

/** A conductor in its own process. */
export class ConductorProcess {
  readonly child: ChildProcess;
  readonly #inbox: ChildMessage[] = [];
  readonly #waiters: { readonly type: string; readonly deliver: (m: ChildMessage) => void }[] = [];
  /** Sees every message from the child as it arrives (heartbeat reports, lost leases), before any waiter does. */
  onMessage: (message: ChildMessage) => void = () => undefined;
  readonly #exited: Promise<void>;

  constructor(options: ConductorProcessOptions) {
    this.child = fork(SCRIPT, {
      cwd: ROOT,
      execArgv: ['--import', 'tsx', '--import', './tools/lua-text.mjs'],
      env: {
        ...process.env,
        REDIS_URL: options.redisUrl,
        PREFIX: options.prefix,
        ID: options.id,
        TTL_MS: String(options.ttlMs),
        ...(options.clusterNodes ? { CLUSTER_NODES: options.clusterNodes.join(',') } : {}),
        ...(options.storeUrl ? { STORE_URL: options.storeUrl } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(this.child);
    this.#exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    void this.#exited.then(() => running.delete(this.child));
    this.child.on('message', (message: ChildMessage) => {
      this.onMessage(message);
      const i = this.#waiters.findIndex((w) => w.type === message.type || message.type === 'failed');
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.deliver(message);
      else if (message.type !== 'beat') this.#inbox.push(message);
    });
  }

  /** The next message of `type`; rejects on a `failed` message, on exit, or after `timeoutMs`. */
  next(type: string, timeoutMs = 60_000): Promise<ChildMessage> {
    return new Promise<ChildMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${type}" from conductor process ${this.child.pid} within ${timeoutMs} ms`)), timeoutMs);
      const deliver = (message: ChildMessage): void => {
        clearTimeout(timer);
        if (message.type === 'failed') reject(new Error(`conductor process ${this.child.pid} failed: ${String(message.error)}`));
        else resolve(message);
      };
      const i = this.#inbox.findIndex((m) => m.type === type || m.type === 'failed');
      if (i >= 0) deliver(this.#inbox.splice(i, 1)[0]!);
      else this.#waiters.push({ type, deliver });
      void this.#exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`conductor process ${this.child.pid} exited while "${type}" was awaited`));
      });
    });
  }

  /** Sends `command` and awaits the reply of type `reply`. */
  ask(command: ChildCommand, reply: string, timeoutMs?: number): Promise<ChildMessage> {
    this.child.send(command);
    return this.next(reply, timeoutMs);
  }

  /** SIGKILLs the process and resolves once it is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.#exited;
  }
}
