// Loopback ports for tests that need a connection to fail.
import { createServer } from 'node:net';

/** A loopback port nothing listens on (bound once by the OS, then closed): a client connecting there is refused. */
export function closedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}
