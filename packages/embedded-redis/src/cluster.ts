import { randomBytes } from 'node:crypto';
import { Acl } from './acl.js';
import { type Clock, realClock } from './clock.js';
import type { ClusterNodeDescriptor, ClusterTopology } from './commands/cluster.js';
import { CLUSTER_SLOTS } from './crc16.js';
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
  /** The inclusive slot range this node serves. */
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

/** What every node shares: the nodes' descriptors and a slot → node index table. */
class ClusterMap {
  readonly descriptors: ClusterNodeDescriptor[] = [];
  readonly owner = new Uint16Array(CLUSTER_SLOTS);

  constructor(
    ranges: ReadonlyArray<readonly [number, number]>,
    readonly host: string,
  ) {
    ranges.forEach(([start, end], index) => {
      this.owner.fill(index, start, end + 1);
      this.descriptors.push({
        id: randomBytes(20).toString('hex'),
        host,
        port: 0,
        busPort: 0,
        slots: [[start, end]],
        configEpoch: index + 1,
      });
    });
  }

  setPort(index: number, port: number): void {
    const node = this.descriptors[index] as ClusterNodeDescriptor;
    this.descriptors[index] = { ...node, port, busPort: port + 10_000 > 65_535 ? 0 : port + 10_000 };
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
        config: { requirepass: options.password ?? '' },
        cluster: new NodeView(map, index),
      }),
  );
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
