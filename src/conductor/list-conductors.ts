import type { LockManager } from '../lock/lock-manager.js';
import type { ConductorRecord, ConductorRegistry } from './registry.js';

/** A registered conductor and whether it is alive. */
export interface ConductorInfo extends ConductorRecord {
  /** Whether its liveness lease (of this incarnation) is held now. */
  readonly online: boolean;
  /** When its liveness lease was last renewed, epoch ms (client clock, ± a round trip); `null` when offline. */
  readonly lastHeartbeatAt: number | null;
  /** Milliseconds left on its liveness lease; `null` when offline. */
  readonly ttlLeftMs: number | null;
}

/** The liveness lease of a conductor: `conductor:<id>`. */
export function conductorResource(id: string): string {
  return `conductor:${id}`;
}

/** Every registered conductor, online or not: online means its incarnation's liveness lease is held now. */
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
