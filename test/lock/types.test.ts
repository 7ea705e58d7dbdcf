// Event payloads and public shapes are part of the API: their types are checked here (by the type-check step;
// the listeners below are type-checked, never called).
import { describe, expectTypeOf, it } from 'vitest';
import type { HeartbeatReport, Lease, LeaseLostError, LeaseState, LockInfo, LockManager, OrphanRecord, PreviousHolder } from '../../src/index.js';

describe('public types', () => {
  it('types lease events and fields', () => {
    const typeOnly = (lease: Lease): void => {
      lease.on('lost', (error) => expectTypeOf(error).toEqualTypeOf<LeaseLostError>());
      lease.on('extended', (info) => expectTypeOf(info).toEqualTypeOf<{ readonly validUntil: number; readonly ttlMs: number }>());
      lease.on('released', (...args) => expectTypeOf(args).toEqualTypeOf<[]>());
      // @ts-expect-error: not an event of a lease
      lease.on('expired', () => undefined);
    };
    expectTypeOf(typeOnly).toBeFunction();
    expectTypeOf<Lease['fence']>().toEqualTypeOf<number>();
    expectTypeOf<Lease['previous']>().toEqualTypeOf<PreviousHolder | null>();
    expectTypeOf<Lease['state']>().toEqualTypeOf<LeaseState>();
    expectTypeOf<Lease['signal']>().toEqualTypeOf<AbortSignal>();
    expectTypeOf<Lease['release']>().returns.toEqualTypeOf<Promise<boolean>>();
  });

  it('types manager events and results', () => {
    const typeOnly = (locks: LockManager): void => {
      locks.on('acquired', (lease) => expectTypeOf(lease).toEqualTypeOf<Lease>());
      locks.on('released', (lease, deleted) => {
        expectTypeOf(lease).toEqualTypeOf<Lease>();
        expectTypeOf(deleted).toEqualTypeOf<boolean>();
      });
      locks.on('lost', (lease, error) => {
        expectTypeOf(lease).toEqualTypeOf<Lease>();
        expectTypeOf(error).toEqualTypeOf<LeaseLostError>();
      });
      locks.on('heartbeat', (report) => expectTypeOf(report).toEqualTypeOf<HeartbeatReport>());
      locks.on('error', (error) => expectTypeOf(error).toEqualTypeOf<unknown>());
      // @ts-expect-error: not an event of a manager
      locks.on('expired', () => undefined);
    };
    expectTypeOf(typeOnly).toBeFunction();
    expectTypeOf<LockManager['acquire']>().returns.toEqualTypeOf<Promise<Lease>>();
    expectTypeOf<LockManager['tryAcquire']>().returns.toEqualTypeOf<Promise<Lease | null>>();
    expectTypeOf<LockManager['inspect']>().returns.toEqualTypeOf<Promise<LockInfo>>();
    expectTypeOf<LockManager['orphans']>().returns.toEqualTypeOf<Promise<OrphanRecord[]>>();
  });
});
