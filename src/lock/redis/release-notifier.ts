import type { KeySpace } from './keys.js';
import type { RedisClient } from './scripts.js';

type Listener = () => void;

/**
 * Tells waiters the moment a resource they wait for is released, so `acquire({ waitMs })` hands over in one
 * round trip instead of at the next poll. Best effort: a missed message only means the waiter finds out at
 * its next poll. One extra connection per backend (a `duplicate()` of the client), made on the first wait;
 * shard channels stay subscribed until {@link close}.
 *
 * The release script publishes on `<prefix>:{<shard>}:released` only when the acquire script registered a
 * waiter for that resource, so uncontended releases publish nothing.
 */
export class ReleaseNotifier {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #channels = new Set<string>();
  #subscriber: RedisClient | null = null;
  #closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeySpace,
  ) {}

  /** The channel a shard's releases are published on. */
  channel(shard: number): string {
    return `${this.keys.shardPrefix(shard)}:released`;
  }

  /** Calls `listener` when `resource` is released; returns the function that stops it. */
  subscribe(resource: string, listener: Listener): () => void {
    if (this.#closed) return () => undefined;
    let set = this.#listeners.get(resource);
    if (!set) this.#listeners.set(resource, (set = new Set()));
    set.add(listener);
    const channel = this.channel(this.keys.shardOf(resource));
    if (!this.#channels.has(channel)) {
      this.#channels.add(channel);
      this.#connect()
        .subscribe(channel)
        .catch(() => this.#channels.delete(channel)); // the waiter polls meanwhile; a later wait retries
    }
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(resource);
    };
  }

  /** Closes the subscriber connection, if one was made. Safe twice. */
  async close(): Promise<void> {
    this.#closed = true;
    const subscriber = this.#subscriber;
    this.#subscriber = null;
    this.#listeners.clear();
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  #connect(): RedisClient {
    if (this.#subscriber) return this.#subscriber;
    const subscriber = this.client.duplicate();
    subscriber.on('error', () => undefined); // connection trouble: waiters fall back to polling
    subscriber.on('message', (_channel: string, resource: string) => {
      for (const listener of this.#listeners.get(resource) ?? []) listener();
    });
    this.#subscriber = subscriber;
    return subscriber;
  }
}
