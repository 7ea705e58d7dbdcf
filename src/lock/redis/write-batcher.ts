import type { RedisClient } from './script-set.js';

/**
 * Commands written through one batcher before its held writes are sent anyway, even if the event loop has not
 * turned: small enough that Redis starts on the first commands while the next are still being made, large
 * enough to save most of the per-write system calls.
 */
export const WRITE_BATCH = 8;

/** The part of a socket the batcher uses: Node's `Writable` cork/uncork. */
interface Corkable {
  readonly writable: boolean;
  cork(): void;
  uncork(): void;
}

/**
 * Nagle's algorithm for leasehold's commands on one standalone ioredis connection. While one of them awaits its
 * reply, the next ones are held in the socket (`cork`) and written together, in one system call, when the event
 * loop turns (`setImmediate`) or after {@link WRITE_BATCH} commands, whichever comes first. With nothing in
 * flight a command is written at once, so a lone caller waits for nothing.
 *
 * Why: under concurrency a socket write costs more client CPU than everything else an acquire or release does;
 * 64 concurrent acquires made 64 writes per event-loop turn. Other commands sent on the same connection in the
 * same turn are held with ours and leave in the same write, at most one event-loop turn later.
 *
 * Cluster clients pass through unchanged: their commands go to per-master connections chosen inside ioredis.
 */
export class WriteBatcher {
  readonly #client: RedisClient;
  #inFlight = 0;
  #corked: Corkable | null = null;
  #held = 0;
  readonly #flush = (): void => {
    const stream = this.#corked;
    this.#corked = null;
    stream?.uncork();
  };

  constructor(client: RedisClient) {
    this.#client = client;
  }

  /**
   * Call right before writing a command: corks the socket when a command of ours is already in flight. Each
   * `opening()` must be followed by {@link WriteBatcher.written} once the command is written, and by
   * {@link WriteBatcher.settled} once it settles.
   */
  opening(): void {
    if (this.#inFlight++ === 0 || this.#corked !== null) return;
    const client = this.#client;
    if (client.isCluster || client.status !== 'ready') return;
    const stream = (client as { stream?: Corkable }).stream;
    if (!stream?.writable) return;
    stream.cork();
    this.#corked = stream;
    this.#held = 0;
    setImmediate(this.#flush);
  }

  /** The command was handed to the socket: after {@link WRITE_BATCH} held commands, they are written now. */
  written(): void {
    const stream = this.#corked;
    if (stream !== null && ++this.#held >= WRITE_BATCH) {
      this.#held = 0;
      stream.uncork();
      stream.cork();
    }
  }

  /** The command's reply (or failure) arrived. */
  settled(): void {
    this.#inFlight--;
  }
}
