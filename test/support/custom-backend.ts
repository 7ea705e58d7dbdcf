// A backend of one's own, made over a real one: what tests use to make a backend misbehave in one way only.
import type { LockBackend } from '../../src/index.js';

/**
 * A backend that hands the eight required methods to `inner`, then takes `overrides`. It has no `ping` and no
 * `handOver` unless `overrides` gives them: the optional methods are what a backend of one's own may leave out.
 */
export function customBackend(inner: LockBackend, overrides: Partial<LockBackend> = {}): LockBackend {
  return {
    acquire: (request) => inner.acquire(request),
    extend: (items, options) => inner.extend(items, options),
    release: (resource, token) => inner.release(resource, token),
    abandon: (resource, token, previous) => inner.abandon(resource, token, previous),
    inspect: (resource) => inner.inspect(resource),
    orphans: (limit, resourcePrefix) => inner.orphans(limit, resourcePrefix),
    leases: (options) => inner.leases(options),
    breakLease: (resource, fence) => inner.breakLease(resource, fence),
    ...overrides,
  };
}
