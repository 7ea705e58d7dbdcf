// Fault scenario 14 of issue 7: the lock Redis's clock jumps forward past the TTL (libfaketime on the redis-server
// process, as an NTP step would do it). Every lock expires on the server at once while its holder still believes it
// holds it: a rival gets in before the holder's next heartbeat tells it the lease is lost. That breaks the assumption
// of mutual exclusion on purpose (clocks must not step), so the fault is recorded as breaking it and the checker
// reports the overlap as allowed; every write of the old holder after the rival's must still be refused by the fence.
import type { ChildProcess } from 'node:child_process';
import type { Scenario } from './scenario.js';

/** The assumption the jump breaks, as the history records it. */
export const CLOCK_STEP =
  "Redis's clock must not step: a wall clock jumped forward past the TTL expires every lock at once, while holders believe until their next heartbeat";

export const CLOCK_JUMP: Scenario = {
  name: 'Redis clock jumped forward past the TTL (libfaketime)',
  workers: 3,
  resources: 3,
  ttlMs: 1_000,
  recoveryManagers: 1,
  fakeClock: true,
  careless: true,
  provokesStaleWrites: true,
  expectRecovery: false,
  note: (results) => {
    const allowed = results.reduce((n, r) => n + r.overlapsAllowed, 0);
    const refused = results.reduce((n, r) => n + r.staleWritesRejected, 0);
    const accepted = results.reduce((n, r) => n + r.staleWritesAccepted, 0);
    return (
      `Each jump moved the lock server's wall clock 3 TTL forward (libfaketime): ${allowed} overlap(s) of a holder and a rival ` +
      `across a jump, reported as allowed (the assumption "${CLOCK_STEP}" broken on purpose); ${refused} stale write(s) refused, ${accepted} accepted.`
    );
  },
  async inject(ctx) {
    const [victim, rival] = ctx.workers as [ChildProcess, ChildProcess];
    // worker-0 goes on writing the node it holds for 3 TTL whatever its lease says; worker-1 waits for that node.
    const { nodeId } = await ctx.tell(victim, { type: 'stubborn', ms: 3 * ctx.ttlMs });
    await ctx.tell(rival, { type: 'target', nodeId: nodeId!, ms: 2 * ctx.ttlMs });
    ctx.fault('clock jump', `lock Redis clock +${3 * ctx.ttlMs} ms while worker-0 holds ${nodeId}; worker-1 waits for it`, CLOCK_STEP);
    ctx.lockServer.jumpClock(3 * ctx.ttlMs);
    await ctx.sleep(3 * ctx.ttlMs); // the rival takes the node; worker-0 writes on with its old fence
  },
};
