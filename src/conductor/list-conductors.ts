import type { LockManager } from '../lock/lock-manager.js';
import type { ConductorRecord, ConductorRegistry } from './registry.js';

/**
 * A registered conductor and whether it is alive.
 *
 * @example
 * ```ts
 * const offline: ConductorInfo[] = (await conductor.listConductors()).filter((c) => !c.online);
 * for (const c of offline) console.warn(`${c.id} on ${c.hostname} is offline (${c.stoppedAt === null ? 'crashed?' : 'stopped'})`);
 * ```
 */
export interface ConductorInfo extends ConductorRecord {
  /** Whether its liveness lease (of this incarnation) is held now. */
  readonly online: boolean;
  /** When its liveness lease was last renewed, epoch ms (client clock, ± a round trip); `null` when offline. */
  readonly lastHeartbeatAt: number | null;
  /** Milliseconds left on its liveness lease; `null` when offline. */
  readonly ttlLeftMs: number | null;
}

/**
 * The resource of a conductor's liveness lease: `conductor:<id>`.
 *
 * @example
 * ```ts
 * const { holder, ttlMs } = await locks.inspect(conductorResource('conductor-a')); // holder null: offline
 * ```
 */
export function conductorResource(id: string): string {
  return `conductor:${id}`;
}

/**
 * Every registered conductor, online or not: online means its incarnation's liveness lease is held now. One
 * registry read plus one lock read per conductor. `conductor.listConductors()` calls it with its own lock manager
 * and registry; use it directly from a process that runs no conductor (an API, a dashboard).
 *
 * @example
 * ```ts
 * for (const c of await listConductors(locks, registry)) {
 *   console.log(c.id, c.online ? `online, ${c.ttlLeftMs} ms left` : `offline since ${c.stoppedAt ?? 'a crash'}`);
 * }
 * ```
 */
export async function listConductors(locks: LockManager, registry: ConductorRegistry): Promise<ConductorInfo[]> {
  const records = await registry.list();
  return Promise.all(
    records.map(async (record): Promise<ConductorInfo> => {
      const info = await locks.inspect(conductorResource(record.id));
      const online = info.holder !== null && info.holder.fence === record.fence && info.ttlMs !== null;
      const left = online ? info.ttlMs : null;
      return {
        ...record,
        online,
        lastHeartbeatAt: left === null ? null : Date.now() - Math.max(0, record.ttlMs - left),
        ttlLeftMs: left,
      };
    }),
  );
}
