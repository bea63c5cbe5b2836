import { ERR_NOT_INTEGER, parseInt64 } from '../args.js';
import { CLUSTER_SLOTS, keySlot } from '../crc16.js';
import type {
  ClusterNodeView,
  CommandCategory,
  CommandContext,
  CommandFamily,
  CommandHandler,
  CommandSpec,
  ReplyWriter,
} from '../types.js';

/**
 * The Cluster commands (CLUSTER SLOTS/SHARDS/NODES/INFO/KEYSLOT/MYID/COUNTKEYSINSLOT/GETKEYSINSLOT/
 * SETSLOT, READONLY/READWRITE/ASKING) in the exact formats Redis 7.0 replies with, served from the topology
 * an embedded Cluster gives each of its nodes (src/cluster.ts). A server that is not a Cluster
 * node answers them as a Redis started without `cluster-enabled` does.
 */

/** One node of an embedded Cluster as CLUSTER SLOTS/SHARDS/NODES describe it. */
export interface ClusterNodeDescriptor {
  /** 40 lower-case hex characters, stable for the node's life. */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** The Cluster bus port Redis would listen on (reported only; nothing listens there). */
  readonly busPort: number;
  /** Inclusive slot ranges this node serves, ascending. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
  readonly configEpoch: number;
}

/**
 * The Cluster as one node sees it: what the server needs for MOVED (`owns`, `ownerAddress`) plus
 * the whole map for the CLUSTER commands. src/cluster.ts passes one to each node's server.
 */
export interface ClusterTopology extends ClusterNodeView {
  /** This node's id. */
  readonly myId: string;
  /** Every node, in start order, with the slot ranges each serves now. */
  nodes(): readonly ClusterNodeDescriptor[];
  /**
   * Delivers a classic PUBLISH made on this node to the subscribers of every other node, as the
   * Cluster bus does: in a Redis Cluster classic channels are Cluster-wide.
   */
  broadcast(channel: string, message: Buffer): void;
  /**
   * CLUSTER SETSLOT `slot` IMPORTING/MIGRATING/STABLE/NODE as this node: undefined when done,
   * else the error reply (Redis's wording).
   */
  setSlot(
    slot: number,
    state: 'importing' | 'migrating' | 'stable' | 'node',
    nodeId?: string,
  ): string | undefined;
  /** This node's slots being migrated or imported, ascending, for CLUSTER NODES. */
  slotMoves(): ReadonlyArray<{ slot: number; direction: 'migrating' | 'importing'; nodeId: string }>;
}

/** The topology behind a server's `cluster` view, or undefined when it is not a Cluster node. */
export function clusterTopology(view: ClusterNodeView | undefined): ClusterTopology | undefined {
  if (view === undefined) return undefined;
  const candidate = view as Partial<ClusterTopology>;
  return typeof candidate.nodes === 'function' &&
    typeof candidate.setSlot === 'function' &&
    typeof candidate.myId === 'string'
    ? (view as ClusterTopology)
    : undefined;
}

const ERR_DISABLED = 'ERR This instance has cluster support disabled';
const ERR_INVALID_SLOT = 'ERR Invalid slot';
const ERR_INVALID_SLOT_OR_COUNT = 'ERR Invalid slot or number of keys';

const HELP = [
  'CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'COUNTKEYSINSLOT <slot>',
  '    Return the number of keys in <slot>.',
  'GETKEYSINSLOT <slot> <count>',
  '    Return key names stored by current node in a slot.',
  'INFO',
  '    Return information about the cluster.',
  'KEYSLOT <key>',
  '    Return the hash slot for <key>.',
  'MYID',
  '    Return the node id.',
  'NODES',
  '    Return cluster configuration seen by node. Output format:',
  '    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...',
  'SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)',
  '    Set slot state.',
  'SLOTS',
  '    Return information about slots range mappings. Each range is made of:',
  '    start, end, master and replicas IP addresses, ports and ids',
  'SHARDS',
  '    Return information about slot range mappings and the nodes associated with them.',
  'HELP',
  '    Prints this help.',
];

/** Runs `serve` with the topology, or replies as a server without cluster support. */
function withTopology(
  serve: (ctx: CommandContext, topology: ClusterTopology, args: Buffer[]) => void,
): CommandHandler {
  return (ctx, args) => {
    const topology = clusterTopology(ctx.server.cluster);
    if (topology === undefined) ctx.out.error(ERR_DISABLED);
    else serve(ctx, topology, args);
    return undefined;
  };
}

/** A slot argument: integer (else `ERR value is not an integer…`); undefined when outside 0..16383. */
function parseSlot(arg: Buffer | undefined): number | undefined {
  const value = parseInt64(arg, ERR_NOT_INTEGER);
  return value < 0n || value >= BigInt(CLUSTER_SLOTS) ? undefined : Number(value);
}

function writeNodeEntry(out: ReplyWriter, node: ClusterNodeDescriptor): void {
  out.array(4);
  out.bulk(node.host);
  out.integer(node.port);
  out.bulk(node.id);
  // Redis 7 appends a map of extra networking metadata (hostname …): empty here.
  out.map(0);
}

const slots: CommandHandler = withTopology((ctx, topology) => {
  const ranges: Array<{ start: number; end: number; node: ClusterNodeDescriptor }> = [];
  for (const node of topology.nodes()) {
    for (const [start, end] of node.slots) ranges.push({ start, end, node });
  }
  ctx.out.array(ranges.length);
  for (const { start, end, node } of ranges) {
    ctx.out.array(3);
    ctx.out.integer(start);
    ctx.out.integer(end);
    writeNodeEntry(ctx.out, node);
  }
});

const shards: CommandHandler = withTopology((ctx, topology) => {
  const nodes = topology.nodes();
  const out = ctx.out;
  out.array(nodes.length);
  for (const node of nodes) {
    out.map(2);
    out.bulk('slots');
    out.array(node.slots.length * 2);
    for (const [start, end] of node.slots) {
      out.integer(start);
      out.integer(end);
    }
    out.bulk('nodes');
    out.array(1);
    out.map(7);
    out.bulk('id');
    out.bulk(node.id);
    out.bulk('port');
    out.integer(node.port);
    out.bulk('ip');
    out.bulk(node.host);
    out.bulk('endpoint');
    out.bulk(node.host);
    out.bulk('role');
    out.bulk('master');
    out.bulk('replication-offset');
    out.integer(0);
    out.bulk('health');
    out.bulk('online');
  }
});

function formatRanges(ranges: ReadonlyArray<readonly [number, number]>): string {
  return ranges.map(([start, end]) => (start === end ? ` ${start}` : ` ${start}-${end}`)).join('');
}

const nodesCommand: CommandHandler = withTopology((ctx, topology) => {
  const now = ctx.now();
  let text = '';
  for (const node of topology.nodes()) {
    const myself = node.id === topology.myId;
    const flags = myself ? 'myself,master' : 'master';
    const pong = myself ? 0 : now;
    // Redis lists myself's slots in motion after its ranges: [slot->-id] and [slot-<-id].
    const moves = myself
      ? topology
          .slotMoves()
          .map(
            ({ slot, direction, nodeId }) => ` [${slot}-${direction === 'migrating' ? '>' : '<'}-${nodeId}]`,
          )
          .join('')
      : '';
    text += `${node.id} ${node.host}:${node.port}@${node.busPort} ${flags} - 0 ${pong} ${node.configEpoch} connected${formatRanges(node.slots)}${moves}\n`;
  }
  ctx.out.verbatim(text);
});

const info: CommandHandler = withTopology((ctx, topology) => {
  const nodes = topology.nodes();
  const me = nodes.find((node) => node.id === topology.myId);
  let assigned = 0;
  let size = 0;
  let epoch = 0;
  for (const node of nodes) {
    for (const [start, end] of node.slots) assigned += end - start + 1;
    if (node.slots.length > 0) size++;
    epoch = Math.max(epoch, node.configEpoch);
  }
  const fields: Array<[string, string | number]> = [
    ['cluster_state', assigned === CLUSTER_SLOTS ? 'ok' : 'fail'],
    ['cluster_slots_assigned', assigned],
    ['cluster_slots_ok', assigned],
    ['cluster_slots_pfail', 0],
    ['cluster_slots_fail', 0],
    ['cluster_known_nodes', nodes.length],
    ['cluster_size', size],
    ['cluster_current_epoch', epoch],
    ['cluster_my_epoch', me?.configEpoch ?? 0],
    ['cluster_stats_messages_sent', 0],
    ['cluster_stats_messages_received', 0],
    ['total_cluster_links_buffer_limit_exceeded', 0],
  ];
  ctx.out.verbatim(`${fields.map(([name, value]) => `${name}:${value}`).join('\r\n')}\r\n`);
});

const keyslot: CommandHandler = withTopology((ctx, _topology, args) => {
  ctx.out.integer(keySlot(args[2] as Buffer));
});

const myid: CommandHandler = withTopology((ctx, topology) => {
  ctx.out.bulk(topology.myId);
});

/** Keys of db 0 in `slot`, at most `limit` (a Cluster node has only db 0). */
function keysInSlot(ctx: CommandContext, slot: number, limit: number): string[] {
  const found: string[] = [];
  if (limit <= 0) return found;
  const db = ctx.server.database(0);
  for (const key of db.keys()) {
    if (keySlot(key) !== slot || db.get(key) === undefined) continue;
    found.push(key);
    if (found.length >= limit) break;
  }
  return found;
}

const countkeysinslot: CommandHandler = withTopology((ctx, _topology, args) => {
  const slot = parseSlot(args[2]);
  if (slot === undefined) {
    ctx.out.error(ERR_INVALID_SLOT);
    return;
  }
  ctx.out.integer(keysInSlot(ctx, slot, Number.POSITIVE_INFINITY).length);
});

const getkeysinslot: CommandHandler = withTopology((ctx, _topology, args) => {
  const slotValue = parseInt64(args[2], ERR_NOT_INTEGER);
  const count = parseInt64(args[3], ERR_NOT_INTEGER);
  if (count < 0n || slotValue < 0n || slotValue >= BigInt(CLUSTER_SLOTS)) {
    ctx.out.error(ERR_INVALID_SLOT_OR_COUNT);
    return;
  }
  const keys = keysInSlot(
    ctx,
    Number(slotValue),
    count > 1_000_000_000n ? Number.POSITIVE_INFINITY : Number(count),
  );
  ctx.out.array(keys.length);
  for (const key of keys) ctx.out.bulk(Buffer.from(key, 'latin1'));
});

const ERR_SETSLOT_ACTION = 'ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP';

/**
 * CLUSTER SETSLOT: MIGRATING/IMPORTING/STABLE mark a slot in motion on this node (shown by
 * CLUSTER NODES; no ASK redirections follow from them), NODE hands the slot to a node for the
 * whole embedded Cluster at once (see src/cluster.ts).
 */
const setslot: CommandHandler = withTopology((ctx, topology, args) => {
  let slot: number | undefined;
  try {
    slot = parseSlot(args[2]);
  } catch {
    slot = undefined;
  }
  if (slot === undefined) {
    ctx.out.error('ERR Invalid or out of range slot');
    return;
  }
  const action = (args[3] as Buffer).toString('latin1').toLowerCase();
  const withNode = args.length === 5 ? (args[4] as Buffer).toString('latin1') : undefined;
  let error: string | undefined;
  if ((action === 'migrating' || action === 'importing' || action === 'node') && withNode !== undefined) {
    error = topology.setSlot(slot, action, withNode);
  } else if (action === 'stable' && args.length === 4) {
    error = topology.setSlot(slot, 'stable');
  } else {
    error = ERR_SETSLOT_ACTION;
  }
  if (error === undefined) ctx.out.simple('OK');
  else ctx.out.error(error);
});

const help: CommandHandler = withTopology((ctx) => {
  ctx.out.array(HELP.length);
  for (const line of HELP) ctx.out.simple(line);
});

/** READONLY/READWRITE/ASKING: accepted and ignored (no replicas; a slot in motion never redirects with ASK). */
const clusterNoop: CommandHandler = withTopology((ctx) => {
  ctx.out.simple('OK');
});

function subcommand(
  name: string,
  arity: number,
  flags: readonly string[],
  handler: CommandHandler,
  categories: readonly CommandCategory[] = ['slow'],
): CommandSpec {
  return {
    name: `cluster|${name}`,
    arity,
    flags,
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories,
    handler,
  };
}

const SUBCOMMANDS: Readonly<Record<string, CommandSpec>> = {
  slots: subcommand('slots', 2, ['stale'], slots),
  shards: subcommand('shards', 2, ['stale'], shards),
  nodes: subcommand('nodes', 2, ['stale'], nodesCommand),
  info: subcommand('info', 2, ['stale'], info),
  keyslot: subcommand('keyslot', 3, ['stale'], keyslot),
  myid: subcommand('myid', 2, ['stale'], myid),
  countkeysinslot: subcommand('countkeysinslot', 3, ['stale'], countkeysinslot),
  getkeysinslot: subcommand('getkeysinslot', 4, ['stale'], getkeysinslot),
  setslot: subcommand('setslot', -4, ['admin', 'stale', 'noscript'], setslot, ['admin', 'slow', 'dangerous']),
  help: subcommand('help', 2, ['loading', 'stale'], help),
};

/**
 * Dispatches CLUSTER's subcommands itself (with Redis's errors for an unknown subcommand and a
 * wrong argument count), so it works whether or not the server dispatches `subcommands` first.
 */
const cluster: CommandHandler = (ctx, args) => {
  const name = (args[1] as Buffer).toString('latin1');
  const spec = SUBCOMMANDS[name.toLowerCase()];
  if (spec === undefined) {
    ctx.out.error(`ERR unknown subcommand '${name}'. Try CLUSTER HELP.`);
    return undefined;
  }
  if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity) {
    ctx.out.error(`ERR wrong number of arguments for '${spec.name}' command`);
    return undefined;
  }
  return spec.handler(ctx, args);
};

/** The Cluster command family. */
export const commands: CommandFamily = [
  {
    name: 'cluster',
    arity: -2,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow'],
    subcommands: SUBCOMMANDS,
    handler: cluster,
  },
  {
    name: 'readonly',
    arity: 1,
    flags: ['loading', 'stale', 'fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['fast', 'connection'],
    handler: clusterNoop,
  },
  {
    name: 'readwrite',
    arity: 1,
    flags: ['loading', 'stale', 'fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['fast', 'connection'],
    handler: clusterNoop,
  },
  {
    name: 'asking',
    arity: 1,
    flags: ['fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['fast', 'connection'],
    handler: clusterNoop,
  },
];
