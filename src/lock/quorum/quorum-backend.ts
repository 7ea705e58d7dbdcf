import type { Redis } from 'ioredis';
import type {
  AcquireOutcome,
  AcquireRequest,
  BreakOutcome,
  ExtendItem,
  ExtendPart,
  LeaseRecord,
  LockBackend,
  OrphanRecord,
  PingResult,
  ResourceState,
} from '../backend.js';
import { monotonicNow } from '../clock.js';
import { BackendError, InvalidOptionError, QuorumError, type HolderInfo, type PreviousHolder } from '../errors.js';
import { RedisBackend, type RedisBackendOptions } from '../redis/redis-backend.js';
import { checkDuration, checkOptions, show } from '../validate.js';

/**
 * Options of {@link QuorumBackend}.
 *
 * @example
 * ```ts
 * const options: QuorumBackendOptions = { prefix: 'ironic', timeoutMs: 200 }; // a master silent for 200 ms counts as down
 * const masters = ['redis://lock-1:6379', 'redis://lock-2:6379', 'redis://lock-3:6379'].map((url) => new Redis(url));
 * const locks = new LockManager({ backend: new QuorumBackend(masters, options), ttlMs: 10_000 });
 * ```
 */
export interface QuorumBackendOptions extends RedisBackendOptions {
  /**
   * How long one master may take to answer an acquire, release or read before it counts as unreachable, in ms.
   * Keep it small against the TTL: validity shrinks by the time an acquisition takes. Listing orphans waits up to
   * 30 s for a master, but no longer than this once a majority has answered.
   * @defaultValue `min(1000, max(50, ttl / 10))` per acquisition; `1000` for other calls
   */
  readonly timeoutMs?: number;
}

type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * Quorum mode (the Redlock algorithm) over N independent Redis masters (3 or 5 is usual; N must be odd): a lease is
 * granted when a majority grants it, renewed when a majority renews it, and its validity is the TTL minus the time
 * the acquisition took minus the drift margin (the lock manager's deadline, measured from before the request).
 * Every master runs the same scripts as standalone mode, so fences and orphan records stay atomic on each one. The
 * fence is the highest any granting master issued (each issues max(last + 1, its clock in µs)), written back to the
 * granting masters before the lease is handed out, so any later majority includes a master that remembers it.
 *
 * What it promises and what it does not: see README "Quorum mode". Fenced writes keep the node table safe even when
 * the timing assumptions of this algorithm are broken. With fewer than a majority answering, calls reject with
 * {@link QuorumError} naming the masters that did not.
 *
 * @example
 * ```ts
 * const backend = new QuorumBackend(
 *   [new Redis('redis://lock-1:6379'), new Redis('redis://lock-2:6379'), new Redis('redis://lock-3:6379')],
 *   { prefix: 'ironic' },
 * );
 * const locks = new LockManager({ backend, ttlMs: 10_000 });
 * ```
 */
export class QuorumBackend implements LockBackend {
  /** One backend per master, in the order given. */
  readonly masters: readonly RedisBackend[];
  /** Each master's address, `host:port`. */
  readonly names: readonly string[];
  /** How many masters make a majority. */
  readonly quorum: number;
  readonly #timeoutMs: number | null;

  /**
   * @param clients - one ioredis `Redis` client per independent master (3 to 9, an odd number; not a `Cluster`);
   *   their scripts are defined on each, and leasehold never closes them.
   * @param options - `prefix` and `shards` as for {@link RedisBackend} (the same on every master), and `timeoutMs`.
   * @throws {@link InvalidOptionError} for a wrong number of clients, a `Cluster`, two clients of one server or a
   *   bad `shards`; {@link InvalidTtlError} for a bad `timeoutMs`; {@link InvalidNameError} for a bad prefix;
   *   {@link UnknownOptionError} for an unknown option.
   */
  constructor(clients: readonly Redis[], options?: QuorumBackendOptions) {
    const list: unknown = clients;
    if (!Array.isArray(list) || list.length < 3 || list.length > 9 || list.length % 2 === 0) {
      throw new InvalidOptionError(
        `QuorumBackend needs an odd number of independent masters, 3 to 9 (3 or 5 is usual); got ${Array.isArray(list) ? `${list.length} clients` : show(list)}.`,
      );
    }
    const given = checkOptions<QuorumBackendOptions>('QuorumBackend options', options, ['prefix', 'shards', 'timeoutMs']);
    const { timeoutMs, ...backendOptions } = given;
    this.#timeoutMs = timeoutMs === undefined ? null : checkDuration('QuorumBackend timeoutMs', timeoutMs);
    for (const client of list as unknown[]) {
      if ((client as { isCluster?: unknown } | null)?.isCluster === true) {
        throw new InvalidOptionError('QuorumBackend takes independent masters (ioredis Redis clients), not a Cluster: a Cluster is one deployment, use RedisBackend.');
      }
    }
    this.masters = Object.freeze((list as Redis[]).map((client) => new RedisBackend(client, backendOptions)));
    this.names = Object.freeze((list as Redis[]).map((c) => `${c.options.host ?? '127.0.0.1'}:${c.options.port ?? 6379}`));
    if (new Set(this.names).size !== this.names.length) {
      throw new InvalidOptionError(`QuorumBackend masters must be distinct servers; got ${this.names.join(', ')}.`);
    }
    this.quorum = Math.floor(this.masters.length / 2) + 1;
  }

  async acquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const timeout = this.#timeoutMs ?? Math.min(1_000, Math.max(50, Math.floor(request.ttlMs / 10)));
    const answers = await this.#each((m) => m.acquire(request), timeout);
    const granted: { index: number; fence: number; acquiredAt: number; previous: PreviousHolder | null }[] = [];
    answers.forEach((a, index) => {
      if (a.ok && a.value.acquired) granted.push({ index, fence: a.value.fence, acquiredAt: a.value.acquiredAt, previous: a.value.previous });
    });
    if (granted.length >= this.quorum) {
      const fence = Math.max(...granted.map((g) => g.fence));
      const raised = await Promise.all(
        granted.map((g) =>
          g.fence === fence ? Promise.resolve(true) : withTimeout(this.masters[g.index]!.raiseFence(request.resource, request.token, fence), timeout).catch(() => false),
        ),
      );
      if (raised.filter(Boolean).length >= this.quorum) {
        // An orphan on any granting master counts: a holder that died leaves its record wherever it held.
        let previous: PreviousHolder | null = null;
        for (const g of granted) if (g.previous && (!previous || g.previous.fence > previous.fence)) previous = g.previous;
        return { acquired: true, fence, acquiredAt: Math.min(...granted.map((g) => g.acquiredAt)), previous };
      }
    }
    // No quorum: take back every partial grant, then say who holds it (or that too few masters answered). A grant
    // that took over an orphan puts the orphan back, and one whose answer is unknown is given back as an orphan
    // too: a plain release there would erase the record of a dead holder, and its node would never be recovered.
    await Promise.all(
      this.masters.map((m, index) => {
        const answer = answers[index]!;
        const giveBack = !answer.ok
          ? m.abandon(request.resource, request.token)
          : answer.value.acquired && answer.value.previous
            ? m.abandon(request.resource, request.token, answer.value.previous)
            : m.release(request.resource, request.token);
        return withTimeout(giveBack, timeout).catch(() => false);
      }),
    );
    const unreachable = this.#unreachable(answers);
    if (answers.length - unreachable.length < this.quorum) {
      throw new QuorumError(`acquire "${request.resource}"`, unreachable, this.quorum, { cause: firstError(answers) });
    }
    const refusals = answers.flatMap((a) => (a.ok && !a.value.acquired ? [a.value] : []));
    const holder = mostCommon(refusals.map((r) => r.holder));
    const ttls = refusals.filter((r) => holder && r.holder?.fence === holder.fence && r.ttlMs !== null).map((r) => r.ttlMs!);
    return { acquired: false, holder, ttlMs: ttls.length > 0 ? Math.min(...ttls) : null };
  }

  /**
   * Renews on every master at once (each master batches per shard, as in standalone mode) and decides each lease
   * as soon as its answers allow: renewed when a majority renewed it, lost when a majority no longer holds its
   * token; unknown (an error part) when too few answered in time.
   */
  extend(items: readonly ExtendItem[], options: { readonly timeoutMs: number }): Promise<ExtendPart>[] {
    const n = items.length;
    if (n === 0) return [];
    const total = this.masters.length;
    const perMaster = this.masters.map((m) => m.extend(items, options));
    let resolveDecided!: (part: ExtendPart) => void;
    let resolveUnknown!: (part: ExtendPart) => void;
    const decidedPart = new Promise<ExtendPart>((r) => (resolveDecided = r));
    const unknownPart = new Promise<ExtendPart>((r) => (resolveUnknown = r));
    const yes = new Uint8Array(n);
    const no = new Uint8Array(n);
    const decided: (boolean | undefined)[] = new Array<boolean | undefined>(n);
    let open = n;
    let outstanding = perMaster.reduce((sum, parts) => sum + parts.length, 0);
    const failed = new Set<number>();
    let lastError: Error | null = null;
    const finish = (): void => {
      const indexes: number[] = [];
      const renewed: boolean[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < n; i++) {
        const d = decided[i];
        if (d === undefined) unknown.push(i);
        else {
          indexes.push(i);
          renewed.push(d);
        }
      }
      resolveDecided({ indexes, renewed, error: null });
      resolveUnknown(
        unknown.length === 0
          ? { indexes: [], renewed: [], error: null }
          : { indexes: unknown, renewed: null, error: new QuorumError(`renew ${unknown.length} lease(s)`, [...failed].map((m) => this.names[m]!), this.quorum, { cause: lastError }) },
      );
    };
    perMaster.forEach((parts, master) => {
      for (const part of parts) {
        void part.then((p) => {
          outstanding--;
          if (p.error) {
            failed.add(master);
            lastError = p.error;
          } else {
            p.indexes.forEach((i, k) => {
              if (p.renewed[k]) yes[i]!++;
              else no[i]!++;
              if (decided[i] !== undefined) return;
              if (yes[i]! >= this.quorum) decided[i] = true;
              else if (no[i]! > total - this.quorum) decided[i] = false;
              else return;
              open--;
            });
          }
          // Decide as soon as every lease is decided: a dead master must not hold back the others' answers.
          if (open === 0 || outstanding === 0) finish();
        });
      }
    });
    return [decidedPart, unknownPart];
  }

  async release(resource: string, token: string): Promise<boolean> {
    const timeout = this.#timeoutMs ?? 1_000;
    const calls: Promise<boolean>[] = [];
    const answers = await this.#each((m) => (calls[this.masters.indexOf(m)] = m.release(resource, token)), timeout);
    if (answers.every((a) => !a.ok)) throw new QuorumError(`release "${resource}"`, this.names.slice(), this.quorum, { cause: firstError(answers) });
    if (answers.filter((a) => a.ok && a.value).length >= this.quorum) {
      // A majority held the lease. Where its token was gone, it lapsed (that master was cut off longer than the TTL
      // while the others renewed it) and its `held` entry would be listed as an orphan of a lease released cleanly:
      // drop it. A master that answers after the timeout gets the same, when it answers, without being waited for.
      await Promise.all(
        calls.flatMap((call, i) => {
          const drop = call.then((released) => released || this.masters[i]!.dropLapsed(resource)).catch(() => false);
          return answers[i]!.ok ? [withTimeout(drop, timeout).catch(() => false)] : [];
        }),
      );
    }
    return answers.some((a) => a.ok && a.value);
  }

  async abandon(resource: string, token: string, previous?: PreviousHolder | null): Promise<boolean> {
    const answers = await this.#each((m) => m.abandon(resource, token, previous), this.#timeoutMs ?? 1_000);
    if (answers.every((a) => !a.ok)) throw new QuorumError(`abandon "${resource}"`, this.names.slice(), this.quorum, { cause: firstError(answers) });
    return answers.some((a) => a.ok && a.value);
  }

  async inspect(resource: string): Promise<ResourceState> {
    const states = this.#reachable(await this.#each((m) => m.inspect(resource), this.#timeoutMs ?? 1_000), `inspect "${resource}"`);
    const holder = mostCommon(states.map((s) => s.holder));
    const holderTtls = states.filter((s) => holder && s.holder?.fence === holder.fence && s.ttlMs !== null).map((s) => s.ttlMs!);
    const lastHolder = highest(states.map((s) => s.lastHolder));
    const orphans = states.map((s) => s.orphan).filter((o): o is OrphanRecord => o !== null);
    const orphan = holder ? null : (orphans.sort((a, b) => b.holder.fence - a.holder.fence)[0] ?? null);
    return {
      resource,
      holder,
      ttlMs: holderTtls.length > 0 ? Math.min(...holderTtls) : null,
      lastFence: Math.max(0, ...states.map((s) => s.lastFence)),
      lastHolder,
      orphan,
    };
  }

  async orphans(limit: number, resourcePrefix = ''): Promise<OrphanRecord[]> {
    // Any majority holds every orphan record (each was granted by a majority): a silent minority is not waited for.
    const lists = this.#reachable(await this.#each((m) => m.orphans(limit, resourcePrefix), 30_000, this.#timeoutMs ?? 1_000), 'list orphans');
    const byResource = new Map<string, OrphanRecord>();
    for (const o of lists.flat()) {
      const seen = byResource.get(o.resource);
      if (!seen || o.holder.fence > seen.holder.fence) byResource.set(o.resource, o);
    }
    return [...byResource.values()].sort((a, b) => a.expiredAt - b.expiredAt).slice(0, limit);
  }

  async leases(options: { readonly owner: string | null; readonly limit: number }): Promise<LeaseRecord[]> {
    const lists = this.#reachable(await this.#each((m) => m.leases(options), 60_000), 'list leases');
    // A lease is live when a majority holds the same acquisition (its fence).
    const count = new Map<string, { record: LeaseRecord; votes: number }>();
    for (const record of lists.flat()) {
      const key = `${record.resource}\u0000${record.holder.fence}`;
      const seen = count.get(key);
      if (seen) {
        seen.votes++;
        if (record.ttlMs < seen.record.ttlMs) seen.record = record;
      } else count.set(key, { record, votes: 1 });
    }
    return [...count.values()]
      .filter((c) => c.votes >= this.quorum)
      .map((c) => c.record)
      .sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0))
      .slice(0, options.limit);
  }

  async breakLease(resource: string, fence: number): Promise<BreakOutcome> {
    const outcomes = this.#reachable(await this.#each((m) => m.breakLease(resource, fence), this.#timeoutMs ?? 1_000), `break "${resource}"`);
    const broken = outcomes.filter((o): o is Extract<BreakOutcome, { broken: true }> => o.broken);
    // Broken as soon as one master broke it, not only a majority: a master that did not answer in time may still
    // run the break later, and a break that takes effect must never go without its audit record and `lost` event.
    // When a majority keeps the lease after all, its holder goes on, and the recovery that follows is refused.
    if (broken.length > 0) return { broken: true, holder: broken[0]!.holder, expiredAt: Math.max(...broken.map((b) => b.expiredAt)) };
    const holder = mostCommon(outcomes.map((o) => o.holder));
    const ttls = outcomes.flatMap((o) => (!o.broken && o.ttlMs !== null ? [o.ttlMs] : []));
    return { broken: false, holder, ttlMs: ttls.length > 0 ? Math.min(...ttls) : null };
  }

  /** PINGs every master at once within `timeoutMs`; reachable when a majority answers. Never rejects. */
  async ping(timeoutMs: number): Promise<PingResult> {
    checkDuration('ping timeoutMs', timeoutMs);
    const started = monotonicNow();
    const answers = await Promise.all(this.masters.map((m) => m.ping(timeoutMs)));
    const down = answers.flatMap((a, i) => (a.reachable ? [] : [{ name: this.names[i]!, error: a.error }]));
    return {
      reachable: answers.length - down.length >= this.quorum,
      unreachable: down.map((d) => d.name),
      error: down[0]?.error ?? null,
      latencyMs: monotonicNow() - started,
    };
  }

  /**
   * Calls every master, each for at most `timeoutMs`. With `graceMs`, once a majority has answered, the others get
   * `graceMs` more at most: a master that stalls (paused, cut off) then costs a listing that, not its whole timeout.
   */
  async #each<T>(call: (master: RedisBackend) => Promise<T>, timeoutMs: number, graceMs?: number): Promise<Answer<T>[]> {
    let answered = 0;
    let majority = (): void => undefined;
    const cutOff =
      graceMs === undefined
        ? null
        : new Promise<Answer<T>>((resolve) => {
            majority = () => {
              const timer = setTimeout(() => resolve({ ok: false, error: new BackendError(`The master did not answer within ${graceMs} ms of a majority.`) }), graceMs);
              timer.unref();
            };
          });
    return Promise.all(
      this.masters.map((master) => {
        const answer = withTimeout(call(master), timeoutMs).then(
          (value): Answer<T> => {
            if (++answered === this.quorum) majority();
            return { ok: true, value };
          },
          (error: unknown): Answer<T> => ({ ok: false, error }),
        );
        return cutOff ? Promise.race([answer, cutOff]) : answer;
      }),
    );
  }

  /** The answers of the masters that answered, or a QuorumError when fewer than a majority did. */
  #reachable<T>(answers: Answer<T>[], operation: string): T[] {
    const unreachable = this.#unreachable(answers);
    if (answers.length - unreachable.length < this.quorum) throw new QuorumError(operation, unreachable, this.quorum, { cause: firstError(answers) });
    return answers.flatMap((a) => (a.ok ? [a.value] : []));
  }

  #unreachable(answers: Answer<unknown>[]): string[] {
    return answers.flatMap((a, i) => (a.ok ? [] : [this.names[i]!]));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BackendError(`The master did not answer within ${ms} ms.`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function firstError(answers: Answer<unknown>[]): unknown {
  for (const a of answers) if (!a.ok) return a.error;
  return undefined;
}

/** The holder (by fence) reported most often; ties go to the higher fence. */
function mostCommon(holders: (HolderInfo | null)[]): HolderInfo | null {
  const votes = new Map<number, { holder: HolderInfo; n: number }>();
  for (const h of holders) {
    if (!h) continue;
    const v = votes.get(h.fence);
    if (v) v.n++;
    else votes.set(h.fence, { holder: h, n: 1 });
  }
  let best: { holder: HolderInfo; n: number } | null = null;
  for (const v of votes.values()) if (!best || v.n > best.n || (v.n === best.n && v.holder.fence > best.holder.fence)) best = v;
  return best?.holder ?? null;
}

function highest(holders: (HolderInfo | null)[]): HolderInfo | null {
  let best: HolderInfo | null = null;
  for (const h of holders) if (h && (!best || h.fence > best.fence)) best = h;
  return best;
}
