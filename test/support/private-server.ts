// A private redis-server for one describe block: tests that count a server's commands or flush its state must not
// share it with the rest of the suite.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisServer } from '../harness/redis-server.js';

/** The private server of a describe block, with one client for the code under test and one for the test itself. */
export interface PrivateServer {
  readonly server: RedisServer;
  /** The client the code under test uses. */
  readonly redis: Redis;
  /** The test's own client: INFO, CONFIG, SCRIPT, writes behind the code's back. */
  readonly admin: Redis;
}

/**
 * Starts a private server before the enclosing block's tests and stops it after them, even when they fail. Read
 * the fields inside tests (they are set once `beforeAll` ran).
 */
export function privateServer(): PrivateServer {
  const state: { -readonly [K in keyof PrivateServer]?: PrivateServer[K] } = {};
  beforeAll(async () => {
    state.server = await RedisServer.start();
    state.redis = state.server.client();
    state.admin = state.server.client();
  });
  afterAll(async () => {
    state.redis?.disconnect();
    state.admin?.disconnect();
    await state.server?.stop();
  });
  const get = <K extends keyof PrivateServer>(key: K): PrivateServer[K] => {
    const value = state[key];
    if (value === undefined) throw new Error(`privateServer().${key} is read before beforeAll ran`);
    return value;
  };
  return {
    get server() {
      return get('server');
    },
    get redis() {
      return get('redis');
    },
    get admin() {
      return get('admin');
    },
  };
}
