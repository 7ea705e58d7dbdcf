/** A loopback Redis endpoint. */
export interface Address {
  host: string;
  port: number;
}

/** The shared Redis servers started by the global setup and provided to every test file. */
export interface RedisTopology {
  /** One standalone server. */
  standalone: Address;
  /** Three independent standalone servers (for Redlock-style quorum tests). */
  masters: Address[];
  /** The six nodes of one cluster (3 masters + 3 replicas). */
  cluster: Address[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    redis: RedisTopology;
  }
}
