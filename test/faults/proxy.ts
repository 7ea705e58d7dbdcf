// A small TCP proxy of our own, on loopback, between a client and a Redis server. Faults are toggled while it runs:
// delay every chunk, drop (cut every connection and refuse new ones), or black-hole one direction or both: bytes are
// held back while connections stay open, as in a silent partition where TCP keeps retransmitting, and delivered in
// order when the partition heals (swallowing them would break TCP's promise, which no real network does).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { LOOPBACK } from '../harness/net.js';

/** What the proxy does to traffic now. */
export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop' }
  /** Hold back bytes going `to-server` (client -> Redis), `to-client` (Redis -> client), or `both`. */
  | { kind: 'blackhole'; direction: 'to-server' | 'to-client' | 'both' };

export class FaultProxy {
  #mode: ProxyMode = { kind: 'pass' };
  readonly #pairs = new Set<[Socket, Socket]>();
  /** Chunks held back by a black hole, per destination socket, in order. */
  readonly #held = new Map<Socket, Buffer[]>();

  private constructor(
    readonly server: Server,
    readonly port: number,
    readonly target: { host: string; port: number },
  ) {}

  /** Starts a proxy on a free loopback port that forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    const proxy = new FaultProxy(server, address.port, target);
    server.on('connection', (client) => proxy.#accept(client));
    return proxy;
  }

  get host(): string {
    return LOOPBACK;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Changes what the proxy does; `drop` also cuts every open connection. */
  set(mode: ProxyMode): void {
    this.#mode = mode;
    if (mode.kind === 'drop') this.#cutAll();
    if (mode.kind !== 'blackhole') {
      // The partition healed: deliver what was held back, in order.
      for (const [to, chunks] of this.#held) for (const chunk of chunks) if (!to.destroyed) to.write(chunk);
      this.#held.clear();
    }
  }

  async stop(): Promise<void> {
    this.#cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #cutAll(): void {
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
  }

  #accept(client: Socket): void {
    if (this.#mode.kind === 'drop') {
      client.destroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const close = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    this.#pipe(client, upstream, 'to-server');
    this.#pipe(upstream, client, 'to-client');
  }

  #pipe(from: Socket, to: Socket, direction: 'to-server' | 'to-client'): void {
    from.on('data', (chunk: Buffer) => {
      const mode = this.#mode;
      if (mode.kind === 'blackhole' && (mode.direction === 'both' || mode.direction === direction)) {
        this.#held.set(to, [...(this.#held.get(to) ?? []), chunk]);
        return;
      }
      const held = this.#held.get(to);
      if (held) {
        // Still flushing an earlier black hole's bytes for this socket: keep the order.
        held.push(chunk);
        return;
      }
      if (mode.kind === 'drop') return;
      if (mode.kind === 'delay') {
        // Delay keeps order: chunks leave in the order they came, each `ms` late.
        setTimeout(() => to.destroyed || to.write(chunk), mode.ms);
        return;
      }
      if (!to.destroyed) to.write(chunk);
    });
  }
}
