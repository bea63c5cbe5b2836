import { randomBytes } from 'node:crypto';
import { Acl } from './acl.js';
import { type Clock, realClock } from './clock.js';
import type { ClusterNodeDescriptor, ClusterTopology } from './commands/cluster.js';
import { CLUSTER_SLOTS, keySlot } from './crc16.js';
import { hubOf } from './pubsub-hub.js';
import { EmbeddedServer } from './server.js';

/** Options of `startEmbeddedRedisCluster`. */
export interface EmbeddedRedisClusterOptions {
  /** Number of primaries (no replicas); each serves an equal share of the 16 384 slots. Default 3. */
  nodes?: number;
  /** Interface every node binds; default `127.0.0.1`. */
  host?: string;
  /** `requirepass` on every node; `urls` then carry it. */
  password?: string;
  /** Time source shared by every node; default the wall clock. */
  clock?: Clock;
}

/** Default options of `startEmbeddedRedisCluster`. */
export const DEFAULT_EMBEDDED_CLUSTER_OPTIONS = { nodes: 3, host: '127.0.0.1' } as const;

/** One node of an embedded Cluster. */
export interface EmbeddedClusterNode {
  /** `redis://[:password@]host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The node id CLUSTER MYID/NODES report (40 hex characters). */
  readonly id: string;
  /**
   * The inclusive slot range this node was started with (CLUSTER SETSLOT … NODE may have moved
   * slots since; CLUSTER SLOTS says where they are now).
   */
  readonly slots: readonly [number, number];
  /** The node's server, for in-process access (keys, clock, dropping clients). */
  readonly server: EmbeddedServer;
}

/** A running embedded Cluster. */
export interface EmbeddedRedisCluster {
  /** Every node in slot order: node i serves the i-th slot range. */
  readonly nodes: readonly EmbeddedClusterNode[];
  /** Every node's url; pass them (or `nodes`) as Cluster seed nodes. */
  readonly urls: string[];
  /**
   * Stops node `index` listening and drops its clients; its data stays in memory. Resolves once
   * the port is closed. Redirections to it then fail to connect, as with a crashed node.
   */
  stopNode(index: number): Promise<void>;
  /** Listens again on node `index`'s port with its data; resolves once it accepts connections. */
  startNode(index: number): Promise<void>;
  /** Stops every node. Idempotent. */
  close(): Promise<void>;
}

/**
 * The slot ranges of `count` primaries, split as `redis-cli --cluster create` splits them
 * (3 nodes: 0-5460, 5461-10922, 10923-16383).
 */
export function splitSlots(count: number): Array<[number, number]> {
  const perNode = CLUSTER_SLOTS / count;
  const ranges: Array<[number, number]> = [];
  let first = 0;
  let cursor = 0;
  for (let i = 0; i < count; i++) {
    let last = Math.round(cursor + perNode - 1);
    if (last > CLUSTER_SLOTS - 1 || i === count - 1) last = CLUSTER_SLOTS - 1;
    if (last < first) last = first;
    ranges.push([first, last]);
    first = last + 1;
    cursor += perNode;
  }
  return ranges;
}

/** A slot being moved: `MIGRATING` on its owner, `IMPORTING` on the receiver (CLUSTER SETSLOT). */
interface SlotMove {
  /** The node a MIGRATING slot is going to, by index. */
  migratingTo?: number;
  /** The node an IMPORTING slot comes from, by index. */
  importingFrom?: number;
}

/**
 * What every node shares: the nodes' descriptors, a slot → node index table and the servers.
 * Unlike a real Cluster, where each node has its own view and learns changes by gossip, one
 * CLUSTER SETSLOT … NODE on any node changes every node's view at once.
 */
class ClusterMap {
  readonly #base: Array<Omit<ClusterNodeDescriptor, 'slots'>> = [];
  readonly owner = new Uint16Array(CLUSTER_SLOTS);
  /** Per node: slot → its move in progress. */
  readonly moves: Array<Map<number, SlotMove>> = [];
  servers: EmbeddedServer[] = [];
  #descriptors: ClusterNodeDescriptor[] | undefined;

  constructor(
    ranges: ReadonlyArray<readonly [number, number]>,
    readonly host: string,
  ) {
    ranges.forEach(([start, end], index) => {
      this.owner.fill(index, start, end + 1);
      this.#base.push({
        id: randomBytes(20).toString('hex'),
        host,
        port: 0,
        busPort: 0,
        configEpoch: index + 1,
      });
      this.moves.push(new Map());
    });
  }

  /** Every node with the slot ranges it owns now (recomputed after a slot moved). */
  get descriptors(): ClusterNodeDescriptor[] {
    if (this.#descriptors === undefined) {
      const slots = this.#base.map((): Array<[number, number]> => []);
      let start = 0;
      for (let slot = 1; slot <= CLUSTER_SLOTS; slot++) {
        if (slot < CLUSTER_SLOTS && this.owner[slot] === this.owner[start]) continue;
        slots[this.owner[start] as number]?.push([start, slot - 1]);
        start = slot;
      }
      this.#descriptors = this.#base.map((node, index) => ({ ...node, slots: slots[index] ?? [] }));
    }
    return this.#descriptors;
  }

  setPort(index: number, port: number): void {
    const node = this.#base[index] as Omit<ClusterNodeDescriptor, 'slots'>;
    this.#base[index] = { ...node, port, busPort: port + 10_000 > 65_535 ? 0 : port + 10_000 };
    this.#descriptors = undefined;
  }

  indexOf(id: string): number {
    return this.#base.findIndex((node) => node.id === id);
  }

  /**
   * Gives `slot` to node `to`. The new owner takes a config epoch above every other, as a node
   * that ends an import does in Redis. The old owner, as a Redis node does when it learns it lost
   * a slot, deletes its keys in the slot and drops its shard channel subscribers of the slot,
   * telling each with an `sunsubscribe` push (they subscribe again on the new owner).
   */
  assign(slot: number, to: number): void {
    const from = this.owner[slot] as number;
    this.moves[to]?.delete(slot);
    if (from === to) return;
    this.owner[slot] = to;
    this.moves[from]?.delete(slot);
    const top = Math.max(...this.#base.map((node) => node.configEpoch));
    const target = this.#base[to] as Omit<ClusterNodeDescriptor, 'slots'>;
    this.#base[to] = { ...target, configEpoch: top + 1 };
    this.#descriptors = undefined;
    const previous = this.servers[from];
    if (previous === undefined) return;
    const db = previous.database(0);
    for (const key of [...db.keys()]) if (keySlot(key) === slot) db.delete(key);
    hubOf(previous).dropShardSlot(slot);
  }
}

/** One node's view of the map: implements the server's ClusterNodeView and the CLUSTER commands' topology. */
class NodeView implements ClusterTopology {
  constructor(
    private readonly map: ClusterMap,
    private readonly index: number,
  ) {}

  get myId(): string {
    return (this.map.descriptors[this.index] as ClusterNodeDescriptor).id;
  }

  nodes(): readonly ClusterNodeDescriptor[] {
    return this.map.descriptors;
  }

  owns(slot: number): boolean {
    return this.map.owner[slot] === this.index;
  }

  ownerAddress(slot: number): string {
    const node = this.map.descriptors[this.map.owner[slot] as number] as ClusterNodeDescriptor;
    return `${node.host}:${node.port}`;
  }

  broadcast(channel: string, message: Buffer): void {
    this.map.servers.forEach((server, index) => {
      if (index !== this.index) server.publish(channel, message);
    });
  }

  setSlot(
    slot: number,
    state: 'importing' | 'migrating' | 'stable' | 'node',
    nodeId?: string,
  ): string | undefined {
    const moves = this.map.moves[this.index] as Map<number, SlotMove>;
    if (state === 'stable') {
      moves.delete(slot);
      return undefined;
    }
    const other = this.map.indexOf(nodeId ?? '');
    const owner = this.map.owner[slot] as number;
    if (state === 'migrating') {
      if (owner !== this.index) return `ERR I'm not the owner of hash slot ${slot}`;
      if (other === -1) return `ERR I don't know about node ${nodeId}`;
      moves.set(slot, { migratingTo: other });
      return undefined;
    }
    if (state === 'importing') {
      if (owner === this.index) return `ERR I'm already the owner of hash slot ${slot}`;
      if (other === -1) return `ERR I don't know about node ${nodeId}`;
      moves.set(slot, { importingFrom: other });
      return undefined;
    }
    if (other === -1) return `ERR Unknown node ${nodeId}`;
    if (owner === this.index && other !== this.index && this.#holdsKeys(slot)) {
      return `ERR Can't assign hashslot ${slot} to a different node while I still hold keys for this hash slot.`;
    }
    this.map.assign(slot, other);
    return undefined;
  }

  slotMoves(): ReadonlyArray<{ slot: number; direction: 'migrating' | 'importing'; nodeId: string }> {
    const found: Array<{ slot: number; direction: 'migrating' | 'importing'; nodeId: string }> = [];
    const descriptors = this.map.descriptors;
    for (const [slot, move] of [...(this.map.moves[this.index] ?? new Map<number, SlotMove>())].sort(
      ([a], [b]) => a - b,
    )) {
      if (move.migratingTo !== undefined) {
        found.push({ slot, direction: 'migrating', nodeId: descriptors[move.migratingTo]?.id ?? '' });
      }
      if (move.importingFrom !== undefined) {
        found.push({ slot, direction: 'importing', nodeId: descriptors[move.importingFrom]?.id ?? '' });
      }
    }
    return found;
  }

  #holdsKeys(slot: number): boolean {
    const db = this.map.servers[this.index]?.database(0);
    if (db === undefined) return false;
    for (const key of db.keys()) if (keySlot(key) === slot && db.get(key) !== undefined) return true;
    return false;
  }
}

function validate(options: EmbeddedRedisClusterOptions): void {
  const { nodes, host, password } = options;
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 1_000)) {
    throw new RangeError(
      `startEmbeddedRedisCluster: option "nodes" must be an integer 1..1000, got ${String(nodes)}`,
    );
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new TypeError('startEmbeddedRedisCluster: option "host" must be a non-empty string');
  }
  if (password !== undefined && (typeof password !== 'string' || password === '')) {
    throw new TypeError('startEmbeddedRedisCluster: option "password" must be a non-empty string');
  }
}

/**
 * Starts an embedded Redis Cluster in this process: `nodes` embedded servers, each on its own free
 * port of `host`, each serving an equal slot range (as `redis-cli --cluster create` assigns them).
 * Keyed commands for another node's slots get `MOVED <slot> <host:port>`, multi-key commands
 * across slots `CROSSSLOT`; CLUSTER SLOTS/SHARDS/NODES/INFO describe the whole Cluster, so
 * iovalkey's `Cluster` client works unchanged. Sharded Pub/Sub is served by the node owning the
 * channel's slot.
 *
 * Guarantee: when the promise resolves every node accepts connections and reports
 * `cluster_state:ok`. Call `close()` when done.
 */
export async function startEmbeddedRedisCluster(
  options: EmbeddedRedisClusterOptions = {},
): Promise<EmbeddedRedisCluster> {
  validate(options);
  const count = options.nodes ?? DEFAULT_EMBEDDED_CLUSTER_OPTIONS.nodes;
  const host = options.host ?? DEFAULT_EMBEDDED_CLUSTER_OPTIONS.host;
  const clock = options.clock ?? realClock;
  const ranges = splitSlots(count);
  const map = new ClusterMap(ranges, host);
  const servers = ranges.map(
    (_, index) =>
      new EmbeddedServer({
        clock,
        acl: new Acl(options.password === undefined ? {} : { password: options.password }),
        // masterauth: what replicas would authenticate with; accepted (there are no replicas) so
        // tools that rotate a Cluster's password (CONFIG SET requirepass … masterauth …) work.
        config: { requirepass: options.password ?? '', masterauth: options.password ?? '' },
        cluster: new NodeView(map, index),
      }),
  );
  map.servers = servers;
  const listening = new Set<number>();
  let closed = false;
  // SHUTDOWN sent to a node stops that node, as stopNode does.
  servers.forEach((server, index) => {
    server.onShutdown = () => {
      listening.delete(index);
      void server.close();
    };
  });
  const closeAll = async (): Promise<void> => {
    closed = true;
    await Promise.all(
      [...listening].map(async (index) => {
        listening.delete(index);
        await (servers[index] as EmbeddedServer).close();
      }),
    );
  };
  try {
    for (const [index, server] of servers.entries()) {
      const port = await server.listen(0, host);
      listening.add(index);
      map.setPort(index, port);
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  const nodes: EmbeddedClusterNode[] = servers.map((server, index) => {
    const descriptor = map.descriptors[index] as ClusterNodeDescriptor;
    return {
      url: `redis://${auth}${host}:${descriptor.port}`,
      host,
      port: descriptor.port,
      id: descriptor.id,
      slots: ranges[index] as [number, number],
      server,
    };
  });
  const member = (index: number): EmbeddedServer => {
    if (closed) throw new Error('startEmbeddedRedisCluster: the cluster was closed');
    const server = servers[index];
    if (server === undefined) throw new RangeError(`node index ${index} is out of range 0..${count - 1}`);
    return server;
  };
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    async stopNode(index) {
      const server = member(index);
      if (!listening.delete(index)) return;
      await server.close();
    },
    async startNode(index) {
      const server = member(index);
      if (listening.has(index)) return;
      await server.listen((nodes[index] as EmbeddedClusterNode).port, host);
      listening.add(index);
    },
    close: closeAll,
  };
}
