import { connect, createServer } from 'node:net';

/** Loopback only: the harness never listens on or connects to anything else. */
export const LOOPBACK = '127.0.0.1';

/** The port of a Redis we must never touch. */
export const FORBIDDEN_PORT = 6379;

/** Resolves true when `port` can be bound on the loopback address right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Ports this process handed out: servers started at once (the global setup starts ten) never get the same one. */
const handedOut = new Set<number>();

/**
 * Picks a port that is free on the loopback address together with its cluster bus port (port + 10000), and that
 * this process has not handed out before.
 *
 * Ports come from 10000..22767 so both stay below the Linux ephemeral range (32768+) and
 * far from 6379. Another process may still grab the port before it is used: callers retry.
 */
export async function pickFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 12_768);
    if (port === FORBIDDEN_PORT || handedOut.has(port)) continue;
    handedOut.add(port); // before the awaits: a concurrent pick skips it
    if ((await canBind(port)) && (await canBind(port + 10_000))) return port;
  }
  throw new Error('could not find a free loopback port pair (port, port + 10000)');
}

/**
 * Sends one inline command over a raw socket and resolves with what `read` makes of the reply so far, once that is
 * not `undefined`, or with `otherwise` on an error or after `timeoutMs`. Never rejects, so it is safe to poll with.
 */
function rawCommand<T>(port: number, command: string, read: (reply: string) => T | undefined, otherwise: T, timeoutMs: number): Promise<T> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port });
    let reply = '';
    const finish = (value: T): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(otherwise), timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      const value = read(reply);
      if (value !== undefined) finish(value);
    });
    socket.on('error', () => finish(otherwise));
  });
}

/** Sends one inline `PING` and resolves true only on `+PONG` within `timeoutMs`. Never rejects. */
export function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return rawCommand(port, 'PING', (reply) => (reply.includes('\r\n') ? reply.startsWith('+PONG') : undefined), false, timeoutMs);
}

/**
 * The `process_id` the server on `port` reports (`INFO server`), or null when it does not answer within `timeoutMs`:
 * tells a server we started from another one that answers on the same port. Never rejects.
 */
export function serverProcessId(port: number, timeoutMs = 1_000): Promise<number | null> {
  const read = (reply: string): number | null | undefined => {
    const found = /process_id:(\d+)\r\n/.exec(reply);
    return found ? Number(found[1]) : reply.startsWith('-') ? null : undefined;
  };
  return rawCommand(port, 'INFO server', read, null, timeoutMs);
}
