import type { Cluster, Redis } from 'ioredis';
import { settleWithin } from '../lock/health.js';
import type { RedisClient } from '../lock/redis/script-set.js';

/** What the listener reports to its owner. */
export interface ExpiryListenerHooks {
  /** A key expired on some master. */
  readonly onExpired: (key: string) => void;
  /** Something limits what the listener hears (said once per master and cause). */
  readonly onDegraded: (message: string, cause?: unknown) => void;
  /** A subscription failed in the background. */
  readonly onError: (error: unknown) => void;
}

/** The keyspace-notification classes expiry events need: `E` (keyevent channel) and `x` (expired). */
const NEEDED = ['E', 'x'];

/** How long {@link ExpiryListener.refresh} waits for one master, in ms. */
export const REFRESH_STEP_MS = 2_000;

/**
 * Hears `expired` keyspace events from every master of a deployment: one subscriber connection per master (a
 * standalone server or Sentinel master has one; a Cluster has one per master, since each master publishes only its
 * own keys' events). It enables `notify-keyspace-events` where CONFIG is allowed and says so when it is not.
 * {@link ExpiryListener.refresh} follows Cluster topology changes (new or promoted masters, removed ones).
 */
export class ExpiryListener {
  readonly #clients: readonly RedisClient[];
  readonly #hooks: ExpiryListenerHooks;
  readonly #subscribers = new Map<string, Redis>();
  readonly #said = new Set<string>();
  /** Masters whose refresh step (CONFIG GET, SUBSCRIBE) has not settled yet. */
  readonly #busy = new Set<string>();
  #stopped = false;
  /** Re-checks the masters whenever a Cluster client refreshes its slot map (failover, resharding). */
  readonly #onTopology = (): void => void this.refresh().catch((error: unknown) => this.#hooks.onError(error));

  /** @param clients - one client per deployment to hear: a standalone/Sentinel or Cluster client, or quorum mode's masters. */
  constructor(clients: readonly RedisClient[], hooks: ExpiryListenerHooks) {
    this.#clients = clients;
    this.#hooks = hooks;
  }

  /** The masters listened to, as `host:port` (a subscriber that closed for good is not listening). */
  get masters(): string[] {
    return [...this.#subscribers].filter(([, subscriber]) => subscriber.status !== 'end').map(([at]) => at).sort();
  }

  /** Subscribes on every master now (on a Cluster, once the client knows the slot map). */
  async start(): Promise<void> {
    for (const client of this.#clients) if (client.isCluster) await this.#ready(client);
    for (const client of this.#clients) if (client.isCluster) client.on('refresh', this.#onTopology);
    await this.refresh();
  }

  async #ready(client: RedisClient): Promise<void> {
    if (client.status !== 'ready') {
      // Until the first slot refresh, ioredis lists its startup nodes, replicas included, as masters.
      await new Promise<void>((resolve, reject) => {
        const ready = (): void => {
          client.off('error', failed);
          resolve();
        };
        const failed = (error: unknown): void => {
          client.off('ready', ready);
          reject(error instanceof Error ? error : new Error(String(error)));
        };
        client.once('ready', ready);
        client.once('error', failed);
      });
    }
  }

  /**
   * Subscribes on masters that appeared and drops those that left (on a Cluster), and makes sure every master still
   * publishes expiry events: a master restarted without persistence (or replaced by one with other settings) comes
   * back with its own `notify-keyspace-events`, and the subscriber, which reconnects by itself, would hear nothing.
   * One `CONFIG GET` per master; the recovery manager calls it beside each sweep. Resolves within
   * {@link REFRESH_STEP_MS}: a master that does not answer by then is left to finish in the background, and is
   * skipped by later refreshes until it does, so that one silent master holds back neither the others nor calls
   * piling up on its connection.
   */
  async refresh(): Promise<void> {
    if (this.#stopped) return;
    const masters = this.#masters();
    const wanted = new Map(masters.map((m) => [address(m), m]));
    for (const [at, subscriber] of this.#subscribers) {
      // A subscriber that closed for good is made again: ioredis gives a Cluster node's client (so its duplicate)
      // no retry strategy, and a connection reset then ends it.
      if (!wanted.has(at) || subscriber.status === 'end') {
        this.#subscribers.delete(at);
        subscriber.disconnect();
      }
    }
    await Promise.all(
      [...wanted].map(([at, master]) => {
        if (this.#busy.has(at)) return Promise.resolve(); // still at it since an earlier refresh
        this.#busy.add(at);
        const step = (this.#subscribers.has(at) ? this.#enableNotifications(at, master) : this.#subscribe(at, master)).finally(() => this.#busy.delete(at));
        return settleWithin(step, REFRESH_STEP_MS, () => undefined);
      }),
    );
  }

  /** Closes every subscriber connection. Safe twice. */
  stop(): void {
    this.#stopped = true;
    for (const client of this.#clients) client.off('refresh', this.#onTopology);
    for (const subscriber of this.#subscribers.values()) subscriber.disconnect();
    this.#subscribers.clear();
  }

  #masters(): Redis[] {
    return this.#clients.flatMap((client) => (client.isCluster ? (client as Cluster).nodes('master') : [client as Redis]));
  }

  async #subscribe(at: string, master: Redis): Promise<void> {
    await this.#enableNotifications(at, master);
    if (this.#stopped) return; // stopped meanwhile: a subscriber made now would never be closed
    const db = master.options.db ?? 0;
    // Its own offline queue, whatever the master client's: SUBSCRIBE is sent before the connection is up, and a
    // client made with enableOfflineQueue: false would refuse it (and every retry) at once.
    const subscriber = master.duplicate({ lazyConnect: false, enableReadyCheck: true, enableOfflineQueue: true });
    subscriber.on('error', (error: unknown) => this.#say(`subscriber:${at}`, `The expiry subscriber on ${at} failed; sweeps cover what it misses.`, error));
    subscriber.on('message', (_channel: string, key: string) => this.#hooks.onExpired(key));
    this.#subscribers.set(at, subscriber);
    // SUBSCRIBE goes in the same tick as duplicate(), while the connection is still "connecting": it waits in the
    // offline queue until the client is ready. Sent later, during the handshake, ioredis >= 5.8.2 would write it
    // ahead of the ready check and lose it on the reconnect that follows (redis/ioredis#2037). No await between.
    try {
      await subscriber.subscribe(`__keyevent@${db}__:expired`);
      if (this.#stopped || this.#subscribers.get(at) !== subscriber) subscriber.disconnect();
    } catch (error) {
      if (this.#subscribers.get(at) === subscriber) this.#subscribers.delete(at);
      subscriber.disconnect();
      this.#hooks.onError(error);
    }
  }

  /** Adds `E` and `x` to the master's notify-keyspace-events when missing; says so once when it can't. */
  async #enableNotifications(at: string, master: Redis): Promise<void> {
    try {
      const reply = (await master.config('GET', 'notify-keyspace-events')) as string[];
      const flags = reply[1] ?? '';
      const has = (flag: string): boolean => flags.includes(flag) || (flag !== 'E' && flag !== 'K' && flags.includes('A'));
      const missing = NEEDED.filter((flag) => !has(flag));
      if (missing.length > 0) await master.config('SET', 'notify-keyspace-events', flags + missing.join(''));
    } catch (error) {
      this.#say(
        `config:${at}`,
        `Cannot check or enable notify-keyspace-events on ${at} (CONFIG refused: ${(error as Error).message}); ` +
          'expiry events are heard only if the server already has them enabled ("Ex"); otherwise only sweeps find orphans.',
        error,
      );
    }
  }

  #say(topic: string, message: string, cause?: unknown): void {
    if (this.#said.has(topic)) return;
    this.#said.add(topic);
    this.#hooks.onDegraded(message, cause);
  }
}

function address(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}
