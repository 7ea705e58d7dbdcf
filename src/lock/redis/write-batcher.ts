import type { Cluster, Redis } from 'ioredis';
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
 * Nagle's algorithm for leasehold's commands on one ioredis client. While one of them awaits its reply, the next
 * ones are held in the socket (`cork`) and written together, in one system call, when the event loop turns
 * (`setImmediate`) or after {@link WRITE_BATCH} commands per connection, whichever comes first, or when the maker of a
 * batch of calls has made its last one ({@link WriteBatcher.flush}). With nothing in flight a command is written at
 * once, so a lone caller waits for nothing.
 *
 * Why: under concurrency a socket write costs more client CPU than everything else an acquire or release does;
 * 64 concurrent acquires made 64 writes per event-loop turn. Other commands sent on the same connection in the
 * same turn are held with ours and leave in the same write, at most one event-loop turn later.
 *
 * On a Cluster client the connections of every master are held alike (a command goes to its slot's master).
 */
export class WriteBatcher {
  readonly #client: RedisClient;
  #inFlight = 0;
  #corked: Corkable[] | null = null;
  #held = 0;
  readonly #flush = (): void => {
    const streams = this.#corked;
    this.#corked = null;
    if (streams) for (const stream of streams) stream.uncork();
  };

  constructor(client: RedisClient) {
    this.#client = client;
  }

  /**
   * Call right before writing a command: corks the connections when a command of ours is already in flight. Each
   * `opening()` must be followed by {@link WriteBatcher.written} once the command is written, and by
   * {@link WriteBatcher.settled} once it settles.
   */
  opening(): void {
    if (this.#inFlight++ === 0 || this.#corked !== null) return;
    const streams = this.#writableStreams();
    if (streams.length === 0) return;
    for (const stream of streams) stream.cork();
    this.#corked = streams;
    this.#held = 0;
    setImmediate(this.#flush);
  }

  /** The command was handed to its socket: after {@link WRITE_BATCH} held commands per connection, they are written now. */
  written(): void {
    const streams = this.#corked;
    if (streams !== null && ++this.#held >= WRITE_BATCH * streams.length) {
      this.#held = 0;
      for (const stream of streams) {
        stream.uncork();
        stream.cork();
      }
    }
  }

  /**
   * Writes the held commands now. For a caller that just made the last command of a batch: nothing more will join
   * them this turn, and the end of the turn can be late (the replies to the batch's first commands are read first).
   */
  flush(): void {
    this.#flush();
  }

  /** The command's reply (or failure) arrived. */
  settled(): void {
    this.#inFlight--;
  }

  /** The sockets commands are written to now: the client's, or every master's on a Cluster; none while not ready. */
  #writableStreams(): Corkable[] {
    const client = this.#client;
    if (client.status !== 'ready') return [];
    const connections: readonly Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    const streams: Corkable[] = [];
    for (const connection of connections) {
      const stream = (connection as { stream?: Corkable }).stream;
      if (connection.status === 'ready' && stream?.writable) streams.push(stream);
    }
    return streams;
  }
}
