import type { Logger } from '@relaybus/core';
import type { HostPort, RedisClient } from '@relaybus/redis';

interface SlotRange {
  readonly start: number;
  readonly end: number;
  readonly primary: HostPort;
}

/** Refreshes closer together than this share one CLUSTER SLOTS call. */
const MIN_REFRESH_SPACING_MS = 50;

/** `host:port`, the way Redis and iovalkey name a node. */
export function nodeKey(node: HostPort): string {
  return `${node.host}:${node.port}`;
}

/**
 * Every node of `keys` in a fixed order that starts after `owner` (sorted by `host:port`, then
 * rotated): where a classic subscription and a classic publisher go, in that order, when the
 * owner of a subject's slot is down. Both pick the same node, so `receivers` still counts.
 */
export function fallbackOrder(keys: readonly string[], owner: string | undefined): string[] {
  const sorted = [...new Set(keys)].sort();
  if (owner === undefined) return sorted;
  const after = sorted.findIndex((key) => key > owner);
  const start = Math.max(after, 0);
  return [...sorted.slice(start), ...sorted.slice(0, start)].filter((key) => key !== owner);
}

/** Parses a CLUSTER SLOTS reply into slot ranges with their primary; skips entries it cannot read. */
export function parseClusterSlots(reply: unknown, fallbackHost: string): SlotRange[] {
  if (!Array.isArray(reply)) return [];
  const ranges: SlotRange[] = [];
  for (const entry of reply) {
    if (!Array.isArray(entry) || entry.length < 3) continue;
    const [start, end, primary] = entry as unknown[];
    if (typeof start !== 'number' || typeof end !== 'number' || !Array.isArray(primary)) continue;
    const [host, port] = primary as unknown[];
    const hostText = Buffer.isBuffer(host) ? host.toString() : host;
    if (typeof hostText !== 'string' || typeof port !== 'number') continue;
    // An empty or "?" endpoint means the node does not know its address: it is the one we asked.
    const usable = hostText === '' || hostText === '?' ? fallbackHost : hostText;
    ranges.push({ start, end, primary: { host: usable, port } });
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/**
 * Which Cluster node owns which slot, read with CLUSTER SLOTS through the transport's shared
 * Cluster client. Sharded subscriptions ask it where to subscribe, and watch it: while anyone
 * watches, it re-reads the slot map every `refreshMs` (0: never on its own) and tells the
 * watchers, so a subscription notices a slot that moved without a word to it.
 */
export class ClusterTopology {
  readonly #client: () => RedisClient;
  readonly #fallbackHost: string;
  readonly #refreshMs: number;
  readonly #logger: Logger;
  readonly #watchers = new Set<() => void>();
  #ranges: SlotRange[] = [];
  #refreshing: Promise<void> | undefined;
  #refreshedAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(client: () => RedisClient, fallbackHost: string, refreshMs: number, logger: Logger) {
    this.#client = client;
    this.#fallbackHost = fallbackHost;
    this.#refreshMs = refreshMs;
    this.#logger = logger;
  }

  /**
   * The primary owning `slot`: from the last slot map read, or (with `fresh`, or when none was
   * read yet) from a new one. `undefined` when no node claims the slot. Rejects when the map
   * cannot be read.
   */
  async ownerOf(slot: number, fresh = false): Promise<HostPort | undefined> {
    if (fresh || this.#ranges.length === 0) await this.refresh();
    return this.ownerFromCache(slot);
  }

  /** The owner of `slot` in the last slot map read, without I/O. */
  ownerFromCache(slot: number): HostPort | undefined {
    for (const range of this.#ranges) if (slot >= range.start && slot <= range.end) return range.primary;
    return undefined;
  }

  /** Every primary of the last slot map read. */
  primaries(): HostPort[] {
    const seen = new Map<string, HostPort>();
    for (const range of this.#ranges) seen.set(nodeKey(range.primary), range.primary);
    return [...seen.values()];
  }

  /** Reads the slot map again; concurrent and closely spaced calls share one CLUSTER SLOTS. */
  refresh(): Promise<void> {
    if (this.#refreshing !== undefined) return this.#refreshing;
    if (Date.now() - this.#refreshedAt < MIN_REFRESH_SPACING_MS && this.#ranges.length > 0) {
      return Promise.resolve();
    }
    this.#refreshing = this.#read().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Calls `watcher` after every periodic refresh; returns a function that stops it. */
  watch(watcher: () => void): () => void {
    this.#watchers.add(watcher);
    this.#schedule();
    return () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0) this.#stopTimer();
    };
  }

  /** Stops the periodic refresh. */
  close(): void {
    this.#closed = true;
    this.#watchers.clear();
    this.#stopTimer();
  }

  async #read(): Promise<void> {
    const reply = await this.#client().call('cluster', 'slots');
    const ranges = parseClusterSlots(reply, this.#fallbackHost);
    if (ranges.length > 0) this.#ranges = ranges;
    this.#refreshedAt = Date.now();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#refreshMs === 0 || this.#closed || this.#watchers.size === 0) {
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.refresh().then(
        () => {
          for (const watcher of this.#watchers) watcher();
        },
        (error: unknown) => this.#logger.debug({ err: error }, 'could not read the cluster slot map'),
      );
      this.#schedule();
    }, this.#refreshMs);
    this.#timer.unref();
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
