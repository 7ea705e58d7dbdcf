import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis, RedisOptions } from 'ioredis';
import { createRedisClient } from './clients.js';
import { FAKETIME_FILE, faketimeEnv, writeClockOffset } from './faketime.js';
import { FORBIDDEN_PORT, LOOPBACK, pickFreePort, ping, serverProcessId } from './net.js';
import { forgetDir, reapOnExit, removeOnExit } from './reaper.js';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;
const LOG_FILE = 'redis.log';

let installChecked = false;

/**
 * Throws at once if `redis-server` or `redis-cli` is not on PATH, with install instructions.
 * The result is cached after the first success.
 */
export function assertRedisInstalled(): void {
  if (installChecked) return;
  for (const binary of ['redis-server', 'redis-cli']) {
    const result = spawnSync(binary, ['--version'], { stdio: 'ignore' });
    if (result.error !== undefined) {
      throw new Error(
        `${binary} was not found on PATH (${result.error.message}). The leasehold tests run real Redis ` +
          'servers: install it with `apt-get install -y redis-server` (Debian) or put redis-server and redis-cli on PATH.',
      );
    }
  }
  installChecked = true;
}

/** Options for {@link RedisServer.start}. */
export interface StartOptions {
  /** Fixed port; by default a free one is picked (never 6379). */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--enable-debug-command', 'yes']`. */
  args?: string[];
  /**
   * Run the server under libfaketime (`apt-get install -y faketime`), so that {@link RedisServer.jumpClock} can move
   * its wall clock: the clock Redis expires keys and answers TIME by.
   */
  fakeClock?: boolean;
}

class PortInUseError extends Error {}

/**
 * One private `redis-server` child process on 127.0.0.1, with its own temporary `--dir`,
 * no persistence, and helpers to inject faults (kill, pause, restart, CLIENT PAUSE).
 */
export class RedisServer {
  readonly host = LOOPBACK;
  #child: ChildProcess | undefined;
  #paused = false;
  #stopped = false;
  /** The environment of a fake-clock server (libfaketime), or undefined. */
  #env: NodeJS.ProcessEnv | undefined;
  /** How far the fake clock runs ahead of the real one, ms. */
  #clockOffsetMs = 0;

  private constructor(
    readonly port: number,
    /** The server's own temporary working directory (removed by {@link stop}). */
    readonly dir: string,
    readonly args: readonly string[],
  ) {}

  /**
   * Starts a server and resolves once it answers PING. Rejects after ~10s with the server's log
   * tail if it does not come up. Retries on another port if a picked port was taken meanwhile.
   */
  static async start(opts: StartOptions = {}): Promise<RedisServer> {
    assertRedisInstalled();
    if (opts.port === FORBIDDEN_PORT) throw new Error(`port ${FORBIDDEN_PORT} is reserved for someone else's Redis`);
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await pickFreePort());
      const dir = await mkdtemp(join(tmpdir(), `leasehold-redis-${port}-`));
      removeOnExit(dir);
      const server = new RedisServer(port, dir, opts.args ?? []);
      if (opts.fakeClock) server.#env = faketimeEnv(join(dir, FAKETIME_FILE));
      try {
        await server.#launch();
        return server;
      } catch (error) {
        await server.stop();
        const retry = error instanceof PortInUseError && opts.port === undefined && attempt < PORT_ATTEMPTS;
        if (!retry) throw error;
      }
    }
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** Pid of the current process (it changes on {@link restart}); undefined once killed. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** True while the process runs (even if paused). */
  get alive(): boolean {
    return this.#child !== undefined && isRunning(this.#child);
  }

  /** True between {@link pause} and {@link resume}. */
  get paused(): boolean {
    return this.#paused;
  }

  /** A new ioredis client with fail-fast test settings. The caller must quit it. */
  client(opts: RedisOptions = {}): Redis {
    return createRedisClient(this, opts);
  }

  /** Runs one command on a short-lived connection and returns the reply. */
  async call(command: string, ...args: (string | number)[]): Promise<unknown> {
    const client = this.client({ commandTimeout: 2_000, retryStrategy: () => null });
    try {
      return await client.call(command, ...args);
    } finally {
      client.disconnect();
    }
  }

  /** `CLIENT PAUSE <ms> ALL`: the server stays up but answers no client for `ms`. */
  async clientPause(ms: number): Promise<void> {
    await this.call('CLIENT', 'PAUSE', ms, 'ALL');
  }

  /** How far the server's wall clock runs ahead of the real one, ms (0 unless started with `fakeClock`). */
  get clockOffsetMs(): number {
    return this.#clockOffsetMs;
  }

  /**
   * Jumps the server's wall clock forward by `ms` at once (a server started with `fakeClock`): every key whose TTL
   * ends within `ms` expires, as after an NTP step. Jumps add up; the clock never goes back.
   */
  jumpClock(ms: number): void {
    if (!this.#env) throw new Error(`redis-server :${this.port} was not started with fakeClock: its clock cannot jump`);
    if (!(ms > 0)) throw new Error(`a clock jump must be forward; got ${ms} ms`);
    this.#clockOffsetMs += ms;
    writeClockOffset(join(this.dir, FAKETIME_FILE), this.#clockOffsetMs);
  }

  /** Freezes the process (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    this.#signal('SIGSTOP');
    this.#paused = true;
  }

  /** Thaws a {@link pause}d process (SIGCONT). */
  resume(): void {
    this.#signal('SIGCONT');
    this.#paused = false;
  }

  /** Crashes the server (SIGKILL) and waits until the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    if (isRunning(child)) {
      const exited = exitOf(child);
      child.kill('SIGKILL');
      await exited;
    }
    this.#child = undefined;
    this.#paused = false;
  }

  /**
   * Kills the server and starts it again, empty, on the same port with the same arguments.
   * The `--dir` is kept, so a cluster node comes back with its nodes.conf (same node id, no data).
   */
  async restart(): Promise<void> {
    if (this.#stopped) throw new Error(`redis-server :${this.port} was stopped; it cannot be restarted`);
    await this.kill();
    await rm(join(this.dir, 'dump.rdb'), { force: true });
    await this.#launch();
  }

  /** Graceful shutdown (SIGCONT, SIGTERM, SIGKILL after 5s), then removes the temp dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const child = this.#child;
    if (child !== undefined && isRunning(child)) {
      const exited = exitOf(child);
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    this.#child = undefined;
    await rm(this.dir, { recursive: true, force: true });
    forgetDir(this.dir);
  }

  /** The last `lines` lines of the server's log (stdout and stderr). */
  async logTail(lines = 30): Promise<string> {
    const log = await readFile(join(this.dir, LOG_FILE), 'utf8').catch(() => '');
    return log.trimEnd().split('\n').slice(-lines).join('\n');
  }

  #signal(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (child === undefined || !isRunning(child)) throw new Error(`redis-server :${this.port} is not running`);
    child.kill(signal);
  }

  async #launch(): Promise<void> {
    const args = [
      '--port', String(this.port),
      '--bind', LOOPBACK,
      '--save', '',
      '--appendonly', 'no',
      '--dir', this.dir,
      '--protected-mode', 'no',
      ...this.args,
    ];
    const log = openSync(join(this.dir, LOG_FILE), 'a');
    let child: ChildProcess;
    try {
      child = spawn('redis-server', args, { stdio: ['ignore', log, log], ...(this.#env ? { env: this.#env } : {}) });
    } finally {
      closeSync(log);
    }
    child.on('error', () => undefined); // Spawn failures surface as "did not come up" below.
    reapOnExit(child);
    this.#child = child;
    this.#paused = false;

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!isRunning(child)) break;
      if (await ping(this.port)) {
        // The PONG may come from another server on this port, with ours about to exit on "Address already in use".
        if ((await serverProcessId(this.port)) === child.pid) return;
        await this.kill();
        throw new PortInUseError(`another redis-server answers on ${this.host}:${this.port}`);
      }
      await sleep(50);
    }
    const exited = !isRunning(child);
    await this.kill();
    const tail = await this.logTail();
    const reason = exited ? `exited early (code ${String(child.exitCode)})` : `did not answer PING within ${READY_TIMEOUT_MS}ms`;
    const message = `redis-server on ${this.host}:${this.port} ${reason}. Log tail (${join(this.dir, LOG_FILE)}):\n${tail}`;
    throw tail.includes('Address already in use') ? new PortInUseError(message) : new Error(message);
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts `n` independent servers in parallel. If any fails, the others are stopped and the
 * first error is rethrown, so nothing is left running.
 */
export async function startServers(n: number, opts: StartOptions = {}): Promise<RedisServer[]> {
  return settleOrStop(Array.from({ length: n }, () => RedisServer.start(opts)));
}

/** Starts `n` independent standalone masters (e.g. for Redlock quorum tests). See {@link startServers}. */
export function startMasters(n: number): Promise<RedisServer[]> {
  return startServers(n);
}

/**
 * Awaits all `starts`; if any rejects, stops every value that did start (anything with `stop()`)
 * and rethrows the first error.
 */
export async function settleOrStop<T extends { stop(): Promise<void> }>(starts: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(starts);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failure === undefined) return started;
  await Promise.all(started.map((s) => s.stop()));
  throw failure.reason;
}
