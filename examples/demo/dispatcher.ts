// The demo's API side: it reads the node table and orders the next operation of each idle node from a conductor,
// sharing the nodes among the conductors that are up (only a lost conductor's nodes move).
// It never writes a node itself: conductors do, under their leases.
import { isTransientState, type Node, type NodeStore } from 'leasehold';
import type { ConductorProcess } from './fleet.js';
import { nextOperation, type Operation } from './operations.js';
import type { OperationOutcome, Report } from './protocol.js';
import { hash, Random } from './random.js';

/** An operation ordered and not yet answered. */
export interface InFlight {
  readonly opId: number;
  readonly nodeId: string;
  readonly conductor: string;
  readonly operation: Operation;
  readonly at: number;
}

export class Dispatcher {
  readonly #store: NodeStore;
  readonly #ttlMs: number;
  readonly #seed: number;
  readonly #random = new Map<string, Random>();
  /** Conductors that take new work. */
  readonly #up = new Map<string, ConductorProcess>();
  readonly #fleet: readonly ConductorProcess[];
  readonly inFlight = new Map<string, InFlight>();
  /** When each idle node may get its next operation. */
  readonly #notBefore = new Map<string, number>();
  #nextOpId = 1;
  /** The node table as last read. */
  nodes: readonly Node[] = [];
  readonly outcomes: Record<OperationOutcome | 'abandoned', number> = { done: 0, locked: 0, moved: 0, lost: 0, stopped: 0, failed: 0, abandoned: 0 };
  readonly donePerConductor = new Map<string, number>();

  constructor(store: NodeStore, fleet: readonly ConductorProcess[], ttlMs: number, seed: number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#seed = seed;
    this.#fleet = fleet;
    for (const p of fleet) this.#up.set(p.id, p);
  }

  /** Stops giving `conductor` work; its unanswered operations are forgotten (their nodes go to others). */
  withdraw(conductor: string, abandon: boolean): void {
    this.#up.delete(conductor);
    if (!abandon) return;
    for (const [nodeId, op] of this.inFlight) {
      if (op.conductor !== conductor) continue;
      this.inFlight.delete(nodeId);
      this.outcomes.abandoned++;
    }
  }

  /** An operation's answer. */
  answered(report: Extract<Report, { type: 'op-done' }>): void {
    const op = this.inFlight.get(report.nodeId);
    if (!op || op.opId !== report.opId) return; // abandoned earlier
    this.inFlight.delete(report.nodeId);
    this.outcomes[report.outcome]++;
    if (report.outcome === 'done') this.donePerConductor.set(op.conductor, (this.donePerConductor.get(op.conductor) ?? 0) + 1);
    const random = this.#randomOf(report.nodeId);
    const pause = report.outcome === 'done' ? random.between(0.05, 0.3) : 0.25; // retry a locked node soon
    this.#notBefore.set(report.nodeId, Date.now() + pause * this.#ttlMs);
  }

  /** Reads the node table and orders work for idle nodes (unless `dispatch` is false). */
  async tick(dispatch: boolean): Promise<void> {
    this.nodes = await this.#store.list();
    if (!dispatch || this.#up.size === 0) return;
    const now = Date.now();
    for (const [index, node] of this.nodes.entries()) {
      if (this.inFlight.has(node.id) || (this.#notBefore.get(node.id) ?? 0) > now) continue;
      if (isTransientState(node.provisionState)) continue; // held, or awaiting recovery
      const operation = nextOperation(node.provisionState, this.#ttlMs, this.#randomOf(node.id));
      if (!operation) continue;
      const conductor = this.#owner(node.id, index);
      const opId = this.#nextOpId++;
      this.inFlight.set(node.id, { opId, nodeId: node.id, conductor: conductor.id, operation, at: now });
      conductor.send({ type: 'operate', opId, nodeId: node.id, operation });
    }
  }

  /**
   * The conductor that runs a node's operations: node i goes to conductor (i + seed) mod N while it is up, so the
   * nodes are shared evenly; a node whose conductor is down goes to one of those up by rendezvous hashing, so a
   * lost conductor's nodes spread over the survivors.
   */
  #owner(nodeId: string, index: number): ConductorProcess {
    const preferred = this.#fleet[(index + this.#seed) % this.#fleet.length]!;
    if (this.#up.has(preferred.id)) return preferred;
    let best: ConductorProcess | null = null;
    let bestScore = -1;
    for (const p of this.#up.values()) {
      const score = hash(`${this.#seed}:${nodeId}:${p.id}`);
      if (score > bestScore) [best, bestScore] = [p, score];
    }
    return best!;
  }

  #randomOf(nodeId: string): Random {
    let random = this.#random.get(nodeId);
    if (!random) this.#random.set(nodeId, (random = Random.derive(this.#seed, nodeId)));
    return random;
  }
}
