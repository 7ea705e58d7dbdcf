/**
 * What a conductor registers about itself when it starts.
 *
 * @example
 * ```ts
 * const record: ConductorRecord = await conductor.start();
 * console.log(`${record.id} registered from ${record.hostname} (pid ${record.pid}), liveness fence ${record.fence}`);
 * ```
 */
export interface ConductorRecord {
  /** The conductor's id (the owner of its leases). */
  readonly id: string;
  /** The host it runs on. */
  readonly hostname: string;
  /** Its process id on that host. */
  readonly pid: number;
  /** The host's boot id (Linux), so a pid from before a reboot is never mistaken for a live process. */
  readonly bootId: string;
  /** The host's machine id (Linux `/etc/machine-id`; '' where unknown; absent in records of older versions). */
  readonly machineId?: string;
  /** The pid namespace of `pid` (Linux; '' where unknown; absent in records of older versions). */
  readonly pidNamespace?: string;
  /** The service's version, as the conductor was told. */
  readonly version: string;
  /** The drivers (hardware types) it can operate. Informational: recovery never needs them. */
  readonly drivers: readonly string[];
  /** When it started, epoch ms. */
  readonly startedAt: number;
  /** When it stopped gracefully, epoch ms; `null` while running or after a crash. */
  readonly stoppedAt: number | null;
  /** The TTL of its liveness lease, ms. */
  readonly ttlMs: number;
  /** The fence of its liveness lease: tells this incarnation's lease from another's. */
  readonly fence: number;
}

/**
 * Where conductors register. Liveness itself is a lease (`conductor:<id>`), so a crashed conductor goes offline
 * by itself when that lease expires; the registry keeps what the lease cannot: host, version, drivers, times.
 * {@link RedisConductorRegistry} is the built-in one; implement this to keep records elsewhere (e.g. a SQL table).
 *
 * @example
 * ```ts
 * const registry: ConductorRegistry = new RedisConductorRegistry(redis, { prefix: 'ironic' });
 * for (const record of await registry.list()) console.log(record.id, record.hostname, record.drivers.join(','));
 * ```
 */
export interface ConductorRegistry {
  /** Writes (or replaces) a conductor's record. */
  put(record: ConductorRecord): Promise<void>;
  /** A conductor's record, or `null`. */
  get(id: string): Promise<ConductorRecord | null>;
  /** Every registered conductor's record, ordered by id. */
  list(): Promise<ConductorRecord[]>;
  /** Forgets a conductor. */
  remove(id: string): Promise<void>;
}
