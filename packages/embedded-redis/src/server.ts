import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { type Clock, realClock } from './clock.js';
import { commandTable } from './commands/index.js';
import { keySlot } from './crc16.js';
import { KeyspaceDatabase } from './db.js';
import { globMatch } from './glob.js';
import { ProtocolError, RequestParser } from './resp/parser.js';
import { type ReplyValue, TreeWriter } from './resp/tree.js';
import { RespWriter } from './resp/writer.js';
import { adoptSocket } from './socket-reader.js';
import {
  type AccessControl,
  type Block,
  type ClientState,
  type ClusterNodeView,
  type CommandContext,
  type CommandHandler,
  type CommandSpec,
  type Database,
  ReplyError,
  type ReplyWriter,
  type ServerCore,
  WrongTypeError,
} from './types.js';

const NO_POSITIONS: readonly number[] = Object.freeze([]);

/** Number of logical databases (SELECT 0..15). */
export const DATABASES = 16;
/** Default limit of a Pub/Sub client's unsent output before it is disconnected (32 MiB). */
export const DEFAULT_PUBSUB_OUTPUT_LIMIT = 32 * 1024 * 1024;
const ACTIVE_EXPIRE_INTERVAL_MS = 100;

const MULTI_PASSTHROUGH = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);
const PUBSUB_ALLOWED = new Set([
  'ping',
  'subscribe',
  'ssubscribe',
  'unsubscribe',
  'sunsubscribe',
  'psubscribe',
  'punsubscribe',
  'quit',
  'reset',
]);
/** Commands whose effects are propagated by the commands they run (EXEC, scripts). */
const PROPAGATE_INNER = new Set(['exec', 'eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** Server construction options. */
export interface ServerOptions {
  clock?: Clock;
  acl?: AccessControl;
  cluster?: ClusterNodeView;
  /** Initial CONFIG values by lower-case name. */
  config?: Record<string, string>;
}

/** Receives every write command that changed the dataset, in execution order (the AOF). */
export type Propagator = (db: number, args: Buffer[]) => void;

/** A command that is waiting (BLPOP …). */
interface Parked {
  readonly block: Block;
  readonly args: Buffer[];
  readonly db: number;
  readonly keys: string[];
  readonly deadline: number;
  timer: NodeJS.Timeout | undefined;
}

/** One connection's state: the ClientState commands see, plus its socket, parser and writer. */
export class Connection implements ClientState {
  readonly id: number;
  name: string | undefined;
  db = 0;
  user = 'default';
  authenticated: boolean;
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  readonly shardChannels = new Set<string>();
  multi: { commands: Buffer[][]; failed: boolean } | undefined;
  readonly watched = new Map<string, { db: number; version: number }>();
  readonly address: string;
  readonly localAddress: string;
  closeAfterReply = false;
  libName?: string;
  libVersion?: string;
  /** Set by CLIENT NO-EVICT / NO-TOUCH (reported, otherwise unused). */
  noEvict = false;
  noTouch = false;
  readonly createdAt: number;
  lastInteraction: number;
  lastCommand = 'NULL';
  closed = false;
  parked: Parked | undefined;
  readonly out: RespWriter;
  readonly parser = new RequestParser();
  readonly ctx: CommandContext;
  /** Bytes handed to the socket and not yet flushed by it, at the last check. */
  readonly socket: Socket | undefined;

  constructor(server: EmbeddedServer, id: number, socket: Socket | undefined, authenticated: boolean) {
    this.id = id;
    this.socket = socket;
    this.authenticated = authenticated;
    this.address = socket ? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}` : 'internal:0';
    this.localAddress = socket ? `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}` : 'internal:0';
    this.createdAt = server.now();
    this.lastInteraction = this.createdAt;
    this.out = new RespWriter(2);
    this.ctx = new Context(server, this, this.out, false, false);
  }

  get protocol(): 2 | 3 {
    return this.out.protocol;
  }

  set protocol(value: 2 | 3) {
    this.out.protocol = value;
  }

  /** True when subscribed to anything (RESP2 Pub/Sub mode). */
  get subscribed(): boolean {
    return this.channels.size + this.patterns.size + this.shardChannels.size > 0;
  }
}

class Context implements CommandContext {
  readonly server: EmbeddedServer;
  readonly client: ClientState;
  readonly out: ReplyWriter;
  readonly noBlock: boolean;
  readonly inScript: boolean;

  constructor(
    server: EmbeddedServer,
    client: ClientState,
    out: ReplyWriter,
    noBlock: boolean,
    inScript: boolean,
  ) {
    this.server = server;
    this.client = client;
    this.out = out;
    this.noBlock = noBlock;
    this.inScript = inScript;
  }

  get db(): Database {
    return this.server.database(this.client.db);
  }

  now(): number {
    return this.server.now();
  }
}

/** Lower-case ASCII letter of byte `c` (other bytes unchanged). */
function lowerByte(c: number): number {
  return c >= 65 && c <= 90 ? c | 32 : c;
}

/** A case-insensitive hash of `bytes` (command names), so lookups need no string per request. */
function nameHash(bytes: Uint8Array): number {
  let h = bytes.length;
  for (let i = 0; i < bytes.length; i++) h = (Math.imul(h, 31) + lowerByte(bytes[i] as number)) | 0;
  return h;
}

/**
 * What dispatch reads of a command, in one fixed object shape. Specs come from several factories
 * in different shapes, so reading their properties on every request goes through megamorphic
 * inline caches; these records keep the hot path's loads monomorphic.
 */
class Dispatch {
  readonly spec: CommandSpec;
  readonly name: string;
  readonly arity: number;
  readonly handler: CommandHandler;
  readonly subcommands: Readonly<Record<string, CommandSpec>> | undefined;
  readonly noAuth: boolean;
  readonly propagateInner: boolean;
  /** Key positions when they are a fixed range (every `lastKey >= 0` command with enough args). */
  readonly fixedKeys: readonly number[] | undefined;
  readonly lastKey: number;

  constructor(spec: CommandSpec) {
    this.spec = spec;
    this.name = spec.name;
    this.arity = spec.arity;
    this.handler = spec.handler;
    this.subcommands = spec.subcommands;
    this.noAuth = spec.flags.includes('no_auth');
    this.propagateInner = PROPAGATE_INNER.has(spec.name);
    this.lastKey = spec.lastKey;
    if (spec.keys === undefined && spec.firstKey > 0 && spec.lastKey >= 0) {
      const positions: number[] = [];
      const step = spec.step > 0 ? spec.step : 1;
      for (let i = spec.firstKey; i <= spec.lastKey; i += step) positions.push(i);
      this.fixedKeys = Object.freeze(positions);
    } else {
      this.fixedKeys = undefined;
    }
  }
}

/** Commands by name hash; each candidate's lower-case name bytes are compared to confirm. */
class CommandLookup {
  readonly #byHash = new Map<number, { name: Buffer; dispatch: Dispatch }[]>();

  add(name: string, dispatch: Dispatch): void {
    const bytes = Buffer.from(name, 'latin1');
    const hash = nameHash(bytes);
    let list = this.#byHash.get(hash);
    if (list === undefined) {
      list = [];
      this.#byHash.set(hash, list);
    }
    list.push({ name: bytes, dispatch });
  }

  /** The command named `bytes` in any letter case, or undefined. */
  find(bytes: Uint8Array): Dispatch | undefined {
    const list = this.#byHash.get(nameHash(bytes));
    if (list === undefined) return undefined;
    for (const candidate of list) {
      const name = candidate.name;
      if (name.length !== bytes.length) continue;
      let same = true;
      for (let i = 0; i < name.length && same; i++) same = name[i] === lowerByte(bytes[i] as number);
      if (same) return candidate.dispatch;
    }
    return undefined;
  }
}

/**
 * The embedded server: connections, command dispatch (lookup, arity, auth, ACL, cluster,
 * Pub/Sub mode, MULTI queuing), blocking, expiry, and out-of-band delivery.
 */
export class EmbeddedServer implements ServerCore {
  readonly databases = DATABASES;
  readonly config = new Map<string, string>();
  readonly acl: AccessControl;
  readonly cluster: ClusterNodeView | undefined;
  readonly clock: Clock;
  readonly stats = {
    commandsProcessed: 0,
    connectionsReceived: 0,
    startTime: 0,
    expiredKeys: 0,
    rejectedConnections: 0,
    keyspaceHits: 0,
    keyspaceMisses: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
  };
  /** The dirty counter: bumped on every change to the dataset. */
  dirty = 0;
  /** Write commands that changed the dataset go here (set by the AOF). */
  propagator: Propagator | undefined;
  /** Runs before replies are written to sockets (the AOF writes and fsyncs its queue here). */
  beforeReply: (() => void) | undefined;
  /** Replacement commands to propagate for the running command (SPOP → SREM …). */
  #propagateAs: Buffer[][] | undefined;
  /** Limit of a Pub/Sub client's unsent output in bytes (0 = none). */
  pubsubOutputLimit = DEFAULT_PUBSUB_OUTPUT_LIMIT;
  /** Error reply injected for the next `injected.count` commands. */
  injected: { message: string; count: number } | undefined;
  /** A random 40-hex id of this server run (INFO run_id). */
  readonly runId = randomBytes(20).toString('hex');
  /** The append-only file, when persistence is on (src/aof.ts). */
  aof: { rewrite(): void; close(): void } | undefined;
  /** True while an AOF rewrite runs (INFO persistence). */
  aofRewriting = false;
  /** Called by SHUTDOWN (the handle closes the server). */
  onShutdown: (() => void) | undefined;
  readonly #configListeners = new Map<string, ((value: string) => void)[]>();

  readonly #dbs: KeyspaceDatabase[] = [];
  readonly #commands: Map<string, CommandSpec>;
  readonly #lookup = new CommandLookup();
  /** Dispatch records of subcommands, by spec. */
  readonly #subDispatch = new Map<CommandSpec, Dispatch>();
  /** Set by `#resolve`: the error reply when it returned undefined, else the full command name. */
  #resolvedError = '';
  #resolvedName = '';
  readonly #connections = new Map<number, Connection>();
  readonly #closeListeners: ((client: ClientState) => void)[] = [];
  readonly #extensions = new Map<symbol, unknown>();
  readonly #waiters = new Map<string, Connection[]>();
  readonly #readyKeys = new Set<string>();
  readonly #dirtyClients = new Set<Connection>();
  readonly #keyPositions: number[] = [];
  /** Key positions of commands with a fixed key range, by command. */
  readonly #fixedPositions = new Map<CommandSpec, readonly number[]>();
  #flushScheduled = false;
  #nextId = 1;
  #tcp: Server | undefined;
  #expireTimer: NodeJS.Timeout | undefined;
  #unsubscribeClock: (() => void) | undefined;
  #nesting = 0;
  #innerPropagated: { db: number; args: Buffer[] }[] | undefined;

  constructor(options: ServerOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.stats.startTime = this.clock.now();
    this.cluster = options.cluster;
    const config: Record<string, string> = {
      bind: '127.0.0.1',
      port: '0',
      databases: String(DATABASES),
      requirepass: '',
      appendonly: 'no',
      appendfsync: 'everysec',
      appendfilename: 'appendonly.aof',
      dir: process.cwd(),
      'proto-max-bulk-len': '536870912',
      maxmemory: '0',
      'maxmemory-policy': 'noeviction',
      maxclients: '10000',
      timeout: '0',
      save: '',
      hz: '10',
      'notify-keyspace-events': '',
      'lua-time-limit': '5000',
      'busy-reply-threshold': '5000',
      'cluster-enabled': options.cluster ? 'yes' : 'no',
      'client-output-buffer-limit': `normal 0 0 0 slave 268435456 67108864 60 pubsub ${DEFAULT_PUBSUB_OUTPUT_LIMIT} 8388608 60`,
      'list-max-listpack-size': '-2',
      'hash-max-listpack-entries': '128',
      'hash-max-listpack-value': '64',
      'set-max-intset-entries': '512',
      'zset-max-listpack-entries': '128',
      'zset-max-listpack-value': '64',
      'stream-node-max-entries': '100',
      'stream-node-max-bytes': '4096',
      ...options.config,
    };
    for (const [k, v] of Object.entries(config)) this.config.set(k, v);
    const acl = options.acl;
    if (acl === undefined) throw new Error('EmbeddedServer: options.acl is required');
    this.acl = acl;
    const host = {
      now: () => this.clock.now(),
      keyReady: (db: number, key: string) => this.#keyReady(db, key),
      modified: () => {
        this.dirty++;
      },
      expired: (db: number, key: string) => {
        this.stats.expiredKeys++;
        this.#propagate(db, [Buffer.from('DEL'), Buffer.from(key, 'latin1')]);
      },
    };
    for (let i = 0; i < DATABASES; i++) this.#dbs.push(new KeyspaceDatabase(i, host));
    this.#commands = commandTable();
    for (const [name, spec] of this.#commands) {
      this.#lookup.add(name, new Dispatch(spec));
      for (const sub of Object.values(spec.subcommands ?? {})) this.#subDispatch.set(sub, new Dispatch(sub));
    }
  }

  // ---- ServerCore ----

  /** False while nothing records commands (no AOF), so commands skip their replayable form. */
  get propagating(): boolean {
    return this.propagator !== undefined;
  }

  database(index: number): KeyspaceDatabase {
    const db = this.#dbs[index];
    if (db === undefined) throw new ReplyError('ERR DB index is out of range');
    return db;
  }

  now(): number {
    return this.clock.now();
  }

  clients(): IterableIterator<Connection> {
    return this.#connections.values();
  }

  /** Number of connected clients. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  command(name: string): CommandSpec | undefined {
    return this.#commands.get(name);
  }

  /** Every command, by lower-case name. */
  commandList(): IterableIterator<CommandSpec> {
    return this.#commands.values();
  }

  extension<T>(key: symbol, create: () => T): T {
    if (this.#extensions.has(key)) return this.#extensions.get(key) as T;
    const value = create();
    this.#extensions.set(key, value);
    return value;
  }

  onClientClose(listener: (client: ClientState) => void): void {
    this.#closeListeners.push(listener);
  }

  deliver(client: ClientState, write: (out: ReplyWriter) => void): void {
    const conn = this.#connections.get(client.id);
    if (conn === undefined || conn !== client || conn.closed) return;
    write(conn.out);
    this.#markDirty(conn);
  }

  publish(channel: string, message: Buffer): number {
    let receivers = 0;
    for (const conn of this.#connections.values()) {
      if (conn.closed) continue;
      if (conn.channels.has(channel)) {
        const out = conn.out;
        out.push(3);
        out.bulk('message');
        out.bulkLatin1(channel);
        out.bulk(message);
        this.#markDirty(conn);
        receivers++;
      }
      if (conn.patterns.size > 0) {
        for (const pattern of conn.patterns) {
          if (!globMatch(pattern, channel)) continue;
          const out = conn.out;
          out.push(4);
          out.bulk('pmessage');
          out.bulkLatin1(pattern);
          out.bulkLatin1(channel);
          out.bulk(message);
          this.#markDirty(conn);
          receivers++;
        }
      }
    }
    return receivers;
  }

  spublish(channel: string, message: Buffer): number {
    let receivers = 0;
    for (const conn of this.#connections.values()) {
      if (conn.closed || !conn.shardChannels.has(channel)) continue;
      const out = conn.out;
      out.push(3);
      out.bulk('smessage');
      out.bulkLatin1(channel);
      out.bulk(message);
      this.#markDirty(conn);
      receivers++;
    }
    return receivers;
  }

  execute(
    client: ClientState,
    args: Buffer[],
    out: ReplyWriter,
    flags: { noBlock: boolean; inScript: boolean },
  ): void {
    const dispatch = this.#resolve(args);
    if (dispatch === undefined) {
      out.error(this.#resolvedError);
      return;
    }
    const spec = dispatch.spec;
    if (!flags.inScript) {
      const denied = this.acl.check(client.user, spec, args, this.#positions(dispatch, args));
      if (denied !== undefined) {
        out.error(denied);
        return;
      }
    }
    const ctx = new Context(this, client, out, flags.noBlock, flags.inScript);
    const dirtyBefore = this.dirty;
    this.#nesting++;
    try {
      const block = this.#invoke(dispatch.handler, ctx, args);
      if (block !== undefined) block.timeout(ctx);
    } finally {
      this.#nesting--;
    }
    this.stats.commandsProcessed++;
    if (this.dirty !== dirtyBefore && !dispatch.propagateInner) this.#propagateCommand(client.db, args);
    else this.#propagateAs = undefined;
  }

  // ---- config ----

  /** Why `value` is not valid for parameter `name`, or undefined when it is. */
  validateConfig(name: string, value: string): string | undefined {
    const enums: Record<string, string[]> = {
      appendonly: ['yes', 'no'],
      appendfsync: ['always', 'everysec', 'no'],
      'cluster-enabled': ['yes', 'no'],
    };
    const allowed = enums[name];
    if (allowed !== undefined && !allowed.includes(value.toLowerCase()))
      return 'argument(s) must be one of the following: ' + allowed.join(', ');
    const numeric = [
      'proto-max-bulk-len',
      'maxmemory',
      'maxclients',
      'timeout',
      'hz',
      'lua-time-limit',
      'busy-reply-threshold',
    ];
    if (numeric.includes(name) && !/^-?\d+[kKmMgGbB]*$/.test(value))
      return "argument couldn't be parsed into an integer";
    if (name === 'client-output-buffer-limit' && parseOutputLimits(value) === undefined)
      return 'Wrong number of arguments in buffer limit configuration.';
    return undefined;
  }

  /** Sets parameter `name` and applies it. */
  applyConfig(name: string, value: string): void {
    const v = ['appendonly', 'appendfsync', 'cluster-enabled'].includes(name) ? value.toLowerCase() : value;
    this.config.set(name, v);
    if (name === 'client-output-buffer-limit') {
      const limits = parseOutputLimits(v);
      if (limits?.pubsub !== undefined) this.pubsubOutputLimit = limits.pubsub;
    } else if (name === 'proto-max-bulk-len') {
      const n = Number(v);
      if (n > 0) for (const conn of this.#connections.values()) conn.parser.maxBulkLen = n;
    } else if (name === 'requirepass') {
      const acl = this.acl as AccessControl & { setPassword?(password: string | undefined): void };
      acl.setPassword?.(v === '' ? undefined : v);
    }
    for (const listener of this.#configListeners.get(name) ?? []) listener(v);
  }

  /** Calls `listener` when CONFIG SET changes `name`. */
  onConfig(name: string, listener: (value: string) => void): void {
    const list = this.#configListeners.get(name) ?? [];
    list.push(listener);
    this.#configListeners.set(name, list);
  }

  /** SHUTDOWN: closes every client and asks the owner to stop. */
  requestShutdown(): void {
    if (this.onShutdown) this.onShutdown();
    else void this.close();
  }

  // ---- lifecycle ----

  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    this.config.set('port', String(port));
    this.config.set('bind', host);
    // Accepted paused: #accept hands the connection to a socket that reads into our own slabs.
    const tcp = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.#accept(socket));
    this.#tcp = tcp;
    this.#expireTimer = setInterval(() => this.#cron(), ACTIVE_EXPIRE_INTERVAL_MS);
    this.#expireTimer.unref();
    this.#unsubscribeClock = this.clock.onAdvance?.(() => {
      this.#cron();
      this.#checkTimeouts();
      this.#flushDirty();
    });
    return new Promise((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        const address = tcp.address();
        const bound = typeof address === 'object' && address !== null ? address.port : port;
        this.config.set('port', String(bound));
        resolve(bound);
      });
    });
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.aof?.close();
    this.aof = undefined;
    if (this.#expireTimer) clearInterval(this.#expireTimer);
    this.#expireTimer = undefined;
    this.#unsubscribeClock?.();
    this.#unsubscribeClock = undefined;
    const tcp = this.#tcp;
    this.#tcp = undefined;
    this.dropClients();
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  /** Closes every client connection at once (their pending replies are dropped). */
  dropClients(): void {
    for (const conn of [...this.#connections.values()]) {
      conn.socket?.destroy();
      this.#closed(conn);
    }
  }

  /** Closes `client` after flushing what it has been sent (CLIENT KILL, QUIT). */
  kill(client: ClientState): void {
    const conn = this.#connections.get(client.id);
    if (conn === undefined) return;
    conn.closeAfterReply = true;
    this.#flush(conn);
  }

  // ---- in-process API for tests ----

  /**
   * Runs one command in-process as an internal, authenticated client on database `db` and returns
   * its decoded reply. Blocking commands do not block (they answer as on timeout).
   */
  run(args: readonly (string | Buffer)[], db = 0): ReplyValue {
    const client = this.internalClient();
    client.db = db;
    const out = new TreeWriter(2);
    this.execute(
      client,
      args.map((a) => (typeof a === 'string' ? Buffer.from(a, 'utf8') : a)),
      out,
      { noBlock: true, inScript: false },
    );
    this.beforeReply?.();
    this.#serveReady();
    this.#flushDirty();
    return out.replies[0] ?? { kind: 'null' };
  }

  /** The string value of `key` (undefined when missing; WRONGTYPE error for another type). */
  getString(key: string | Buffer, db = 0): Buffer | undefined {
    const entry = this.database(db).getTyped(
      typeof key === 'string' ? key : key.toString('latin1'),
      'string',
    );
    return entry === undefined ? undefined : (entry.value as Buffer);
  }

  /** Stores a string value, optionally with a TTL in ms (as SET … PX). */
  setString(
    key: string | Buffer,
    value: string | Buffer,
    options: { db?: number; ttlMs?: number } = {},
  ): void {
    const args: (string | Buffer)[] = ['SET', key, value];
    if (options.ttlMs !== undefined) args.push('PX', String(options.ttlMs));
    const reply = this.run(args, options.db ?? 0);
    if (reply.kind === 'error') throw new Error(reply.value);
  }

  /** Moves a manual clock forward by `ms` (throws with the real clock). */
  advance(ms: number): void {
    const clock = this.clock as Clock & { advance?: (ms: number) => void };
    if (typeof clock.advance !== 'function') {
      throw new Error(
        'EmbeddedServer.advance: the server runs on the real clock; pass clock: new ManualClock()',
      );
    }
    clock.advance(ms);
  }

  /** Makes the next `count` commands (from any client, but AUTH/HELLO) fail with `message`, e.g. `LOADING …`. */
  injectError(message: string, count = 1): void {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`injectError: count must be an integer >= 0, got ${count}`);
    this.injected = count === 0 ? undefined : { message, count };
  }

  /** Creates a client that is not a connection (AOF loading, in-process calls). */
  internalClient(): Connection {
    return new Connection(this, 0, undefined, true);
  }

  /** Runs one command for an internal client and returns its encoded reply (AOF replay, tests). */
  call(client: Connection, args: Buffer[]): Buffer | undefined {
    this.execute(client, args, client.out, { noBlock: true, inScript: false });
    this.#serveReady();
    this.#flushDirty();
    return client.out.take();
  }

  // ---- connections ----

  #accept(accepted: Socket): void {
    const id = this.#nextId++;
    let conn: Connection | undefined;
    const socket = adoptSocket(accepted, (chunk: Buffer) => {
      // Reads start on a later turn than this one, which assigns conn.
      if (conn === undefined) return;
      this.stats.netInputBytes += chunk.length;
      conn.parser.push(chunk);
      this.#processInput(conn);
      this.beforeReply?.();
      this.#flush(conn);
      this.#flushDirty();
    });
    conn = new Connection(this, id, socket, this.acl.defaultAuthenticated());
    conn.parser.authRequired = !conn.authenticated;
    const maxBulk = Number(this.config.get('proto-max-bulk-len'));
    if (maxBulk > 0) conn.parser.maxBulkLen = maxBulk;
    this.#connections.set(id, conn);
    this.stats.connectionsReceived++;
    socket.setNoDelay(true);
    socket.on('error', () => {
      socket.destroy();
    });
    socket.on('close', () => this.#closed(conn as Connection));
  }

  #closed(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#connections.delete(conn.id);
    this.#dirtyClients.delete(conn);
    if (conn.parked) this.#unpark(conn);
    this.unwatchAll(conn);
    for (const listener of this.#closeListeners) {
      try {
        listener(conn);
      } catch (error) {
        console.error('embedded-redis: a client close listener failed', error);
      }
    }
  }

  /** Forgets every key `client` WATCHes. */
  unwatchAll(client: ClientState): void {
    client.watched.clear();
  }

  #processInput(conn: Connection): void {
    // One clock read per read batch (Redis also stamps the interaction once per read).
    conn.lastInteraction = this.clock.now();
    while (!conn.closed && conn.parked === undefined && !conn.closeAfterReply) {
      let args: Buffer[] | undefined;
      try {
        args = conn.parser.next();
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        conn.out.error(`ERR ${error.message}`);
        conn.closeAfterReply = true;
        break;
      }
      if (args === undefined) break;
      this.#processCommand(conn, args);
      if (this.#readyKeys.size > 0) this.#serveReady();
    }
  }

  #flush(conn: Connection): void {
    const data = conn.out.take();
    const socket = conn.socket;
    if (socket === undefined || conn.closed) return;
    if (data !== undefined) {
      this.stats.netOutputBytes += data.length;
      socket.write(data);
      if (
        this.pubsubOutputLimit > 0 &&
        conn.subscribed &&
        socket.writableLength > this.pubsubOutputLimit &&
        !conn.closeAfterReply
      ) {
        socket.destroy();
        this.#closed(conn);
        return;
      }
    }
    if (conn.closeAfterReply) {
      socket.end();
      this.#closed(conn);
    }
  }

  #markDirty(conn: Connection): void {
    this.#dirtyClients.add(conn);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flushDirty();
      });
    }
  }

  #flushDirty(): void {
    if (this.#dirtyClients.size === 0) return;
    this.beforeReply?.();
    for (const conn of this.#dirtyClients) {
      this.#dirtyClients.delete(conn);
      this.#flush(conn);
    }
  }

  // ---- dispatch ----

  /**
   * The command `args` name (subcommand included), with its full name in `#resolvedName`; or
   * undefined with the error reply in `#resolvedError`. No allocation for a plain command.
   */
  #resolve(args: Buffer[]): Dispatch | undefined {
    const first = args[0] as Buffer;
    let dispatch = this.#lookup.find(first);
    if (dispatch === undefined) {
      const raw = first.toString('latin1');
      let rest = '';
      for (let i = 1; i < args.length && rest.length < 128; i++) {
        rest += `'${(args[i] as Buffer).toString('latin1').slice(0, 128 - rest.length)}' `;
      }
      this.#resolvedError = `ERR unknown command '${raw.slice(0, 128)}', with args beginning with: ${rest}`;
      return undefined;
    }
    let fullName = dispatch.name;
    const subcommands = dispatch.subcommands;
    if (subcommands !== undefined && args.length >= 2) {
      const subName = (args[1] as Buffer).toString('latin1');
      const sub = subcommands[subName.toLowerCase()];
      if (sub === undefined) {
        this.#resolvedError = `ERR unknown subcommand '${subName.slice(0, 128)}'. Try ${dispatch.name.toUpperCase()} HELP.`;
        return undefined;
      }
      fullName = `${dispatch.name}|${sub.name.includes('|') ? sub.name.split('|')[1] : sub.name}`;
      let subDispatch = this.#subDispatch.get(sub);
      if (subDispatch === undefined) {
        subDispatch = new Dispatch(sub);
        this.#subDispatch.set(sub, subDispatch);
      }
      dispatch = subDispatch;
    }
    const arity = dispatch.arity;
    if ((arity > 0 && args.length !== arity) || args.length < -arity) {
      this.#resolvedError = `ERR wrong number of arguments for '${fullName}' command`;
      return undefined;
    }
    this.#resolvedName = fullName;
    return dispatch;
  }

  /** `keyPositions` through a dispatch record (fixed ranges without a lookup). */
  #positions(dispatch: Dispatch, args: Buffer[]): readonly number[] {
    const fixed = dispatch.fixedKeys;
    if (fixed !== undefined && dispatch.lastKey < args.length) return fixed;
    return this.keyPositions(dispatch.spec, args);
  }

  /** The positions of `args` that are keys for `spec` (a shared array: copy it to keep it). */
  keyPositions(spec: CommandSpec, args: Buffer[]): readonly number[] {
    if (spec.keys !== undefined) return spec.keys(args);
    if (spec.firstKey <= 0) return NO_POSITIONS;
    if (spec.lastKey >= 0 && spec.lastKey < args.length) {
      // A fixed range (GET, SET, HSET …): the same positions every time.
      let fixed = this.#fixedPositions.get(spec);
      if (fixed === undefined) {
        const positions: number[] = [];
        for (let i = spec.firstKey; i <= spec.lastKey; i += spec.step > 0 ? spec.step : 1) positions.push(i);
        fixed = Object.freeze(positions);
        this.#fixedPositions.set(spec, fixed);
      }
      return fixed;
    }
    const out = this.#keyPositions;
    out.length = 0;
    const last = spec.lastKey < 0 ? args.length + spec.lastKey : Math.min(spec.lastKey, args.length - 1);
    const step = spec.step > 0 ? spec.step : 1;
    for (let i = spec.firstKey; i <= last; i += step) out.push(i);
    return out;
  }

  #processCommand(conn: Connection, args: Buffer[]): void {
    const dispatch = this.#resolve(args);
    if (dispatch === undefined) {
      this.#reject(conn, this.#resolvedError);
      return;
    }
    const spec = dispatch.spec;
    const fullName = this.#resolvedName;
    conn.lastCommand = fullName;
    if (!conn.authenticated && !dispatch.noAuth) {
      this.#reject(conn, 'NOAUTH Authentication required.');
      return;
    }
    const keyPositions = this.#positions(dispatch, args);
    const denied = this.acl.check(conn.user, spec, args, keyPositions);
    if (denied !== undefined) {
      this.#reject(conn, denied);
      return;
    }
    if (this.cluster !== undefined && keyPositions.length > 0) {
      const redirect = this.#clusterRedirect(args, keyPositions);
      if (redirect !== undefined) {
        this.#reject(conn, redirect);
        return;
      }
    }
    if (conn.out.protocol === 2 && conn.subscribed && !PUBSUB_ALLOWED.has(dispatch.name)) {
      this.#reject(
        conn,
        `ERR Can't execute '${fullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
      );
      return;
    }
    const injected = this.injected;
    if (injected !== undefined && dispatch.name !== 'auth' && dispatch.name !== 'hello') {
      injected.count--;
      if (injected.count <= 0) this.injected = undefined;
      conn.out.error(injected.message);
      return;
    }
    if (conn.multi !== undefined && !MULTI_PASSTHROUGH.has(dispatch.name)) {
      if (spec.flags.includes('no_multi')) {
        this.#reject(conn, 'ERR Command not allowed inside a transaction');
        return;
      }
      conn.multi.commands.push(args);
      conn.out.simple('QUEUED');
      return;
    }
    const dirtyBefore = this.dirty;
    const propagateInner = dispatch.propagateInner;
    if (propagateInner) this.#innerPropagated = [];
    const block = this.#invoke(dispatch.handler, conn.ctx, args);
    this.stats.commandsProcessed++;
    if (block !== undefined) this.#park(conn, block, args);
    if (propagateInner) {
      const inner = this.#innerPropagated ?? [];
      this.#innerPropagated = undefined;
      if (inner.length > 0) this.#propagateInner(inner);
    } else if (this.dirty !== dirtyBefore && block === undefined) {
      this.#propagateCommand(conn.db, args);
    }
    this.#propagateAs = undefined;
  }

  #reject(conn: Connection, message: string): void {
    if (conn.multi !== undefined) conn.multi.failed = true;
    conn.out.error(message);
  }

  #invoke(handler: CommandHandler, ctx: CommandContext, args: Buffer[]): Block | undefined {
    try {
      return handler(ctx, args);
    } catch (error) {
      this.#writeError(ctx.out, error);
      return undefined;
    }
  }

  #writeError(out: ReplyWriter, error: unknown): void {
    if (error instanceof ReplyError || error instanceof WrongTypeError) {
      out.error(error.message);
      return;
    }
    console.error('embedded-redis: a command failed', error);
    out.error(`ERR internal error: ${error instanceof Error ? error.message : String(error)}`);
  }

  // ---- propagation (AOF) ----

  /** Makes the running command propagate as `commands` instead of itself (nondeterministic commands). */
  propagateAs(...commands: Buffer[][]): void {
    this.#propagateAs = commands;
  }

  #propagateCommand(db: number, args: Buffer[]): void {
    const replacement = this.#propagateAs;
    this.#propagateAs = undefined;
    if (replacement === undefined) this.#propagate(db, args);
    else for (const command of replacement) this.#propagate(db, command);
  }

  #propagate(db: number, args: Buffer[]): void {
    if (this.propagator === undefined) return;
    if (this.#innerPropagated !== undefined && this.#nesting > 0) {
      this.#innerPropagated.push({ db, args });
      return;
    }
    this.propagator(db, args);
  }

  #propagateInner(inner: { db: number; args: Buffer[] }[]): void {
    const propagator = this.propagator;
    if (propagator === undefined) return;
    if (inner.length === 1) {
      const only = inner[0] as { db: number; args: Buffer[] };
      propagator(only.db, only.args);
      return;
    }
    const first = inner[0] as { db: number; args: Buffer[] };
    propagator(first.db, [Buffer.from('MULTI')]);
    for (const { db, args } of inner) propagator(db, args);
    propagator(first.db, [Buffer.from('EXEC')]);
  }

  // ---- cluster ----

  #clusterRedirect(args: Buffer[], positions: readonly number[]): string | undefined {
    const cluster = this.cluster as ClusterNodeView;
    let slot = -1;
    for (const position of positions) {
      const key = args[position];
      if (key === undefined) continue;
      const s = keySlot(key);
      if (slot === -1) slot = s;
      else if (s !== slot) return "CROSSSLOT Keys in request don't hash to the same slot";
    }
    if (slot === -1 || cluster.owns(slot)) return undefined;
    return `MOVED ${slot} ${cluster.ownerAddress(slot)}`;
  }

  // ---- blocking ----

  #park(conn: Connection, block: Block, args: Buffer[]): void {
    const keys = block.keys.map((key) => `${conn.db}\u0000${key}`);
    const deadline = block.timeoutMs > 0 ? this.clock.now() + block.timeoutMs : Number.POSITIVE_INFINITY;
    const parked: Parked = { block, args, db: conn.db, keys, deadline, timer: undefined };
    conn.parked = parked;
    for (const key of keys) {
      let list = this.#waiters.get(key);
      if (list === undefined) {
        list = [];
        this.#waiters.set(key, list);
      }
      list.push(conn);
    }
    if (block.timeoutMs > 0) this.#armTimer(conn, parked, block.timeoutMs);
  }

  #armTimer(conn: Connection, parked: Parked, delay: number): void {
    parked.timer = setTimeout(
      () => {
        parked.timer = undefined;
        if (conn.parked !== parked) return;
        const left = parked.deadline - this.clock.now();
        if (left > 0) {
          if (this.clock === realClock) this.#armTimer(conn, parked, left);
          return;
        }
        this.#timeout(conn);
        this.#flushDirty();
      },
      Math.max(1, delay),
    );
  }

  #timeout(conn: Connection): void {
    const parked = conn.parked;
    if (parked === undefined) return;
    this.#unpark(conn);
    try {
      parked.block.timeout(conn.ctx);
    } catch (error) {
      this.#writeError(conn.out, error);
    }
    this.#resume(conn);
  }

  /** CLIENT UNBLOCK: ends client `id`'s blocking command as a timeout, or with an UNBLOCKED error. */
  unblock(id: number, withError: boolean): boolean {
    const conn = this.#connections.get(id);
    if (conn?.parked === undefined) return false;
    if (!withError) {
      this.#timeout(conn);
      return true;
    }
    this.#unpark(conn);
    conn.out.error('UNBLOCKED client unblocked via CLIENT UNBLOCK');
    this.#resume(conn);
    return true;
  }

  #checkTimeouts(): void {
    const now = this.clock.now();
    for (const conn of [...this.#connections.values()]) {
      if (conn.parked !== undefined && conn.parked.deadline <= now) this.#timeout(conn);
    }
  }

  #unpark(conn: Connection): void {
    const parked = conn.parked;
    if (parked === undefined) return;
    conn.parked = undefined;
    if (parked.timer !== undefined) clearTimeout(parked.timer);
    for (const key of parked.keys) {
      const list = this.#waiters.get(key);
      if (list === undefined) continue;
      const i = list.indexOf(conn);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#waiters.delete(key);
    }
  }

  /** After a blocked client was served: send its reply and go on with its pipelined commands. */
  #resume(conn: Connection): void {
    this.#markDirty(conn);
    if (conn.parser.buffered > 0) {
      setImmediate(() => {
        if (conn.closed || conn.parked !== undefined) return;
        this.#processInput(conn);
        this.beforeReply?.();
        this.#flush(conn);
        this.#flushDirty();
      });
    }
  }

  #keyReady(db: number, key: string): void {
    if (this.#waiters.size === 0) return;
    const qualified = `${db}\u0000${key}`;
    if (this.#waiters.has(qualified)) this.#readyKeys.add(qualified);
  }

  #serveReady(): void {
    let rounds = 0;
    while (this.#readyKeys.size > 0 && rounds++ < 100000) {
      const [qualified] = this.#readyKeys as Iterable<string>;
      this.#readyKeys.delete(qualified as string);
      const list = this.#waiters.get(qualified as string);
      if (list === undefined) continue;
      for (const conn of [...list]) {
        const parked = conn.parked;
        if (parked === undefined || conn.closed) continue;
        const dirtyBefore = this.dirty;
        let served: boolean;
        try {
          served = parked.block.retry(conn.ctx);
        } catch (error) {
          this.#writeError(conn.out, error);
          served = true;
        }
        if (!served) continue;
        this.#unpark(conn);
        if (this.dirty !== dirtyBefore) this.#propagateCommand(parked.db, parked.args);
        this.#resume(conn);
      }
    }
  }

  // ---- cron ----

  #cron(): void {
    for (const db of this.#dbs) {
      if (db.size() === 0) continue;
      for (let round = 0; round < 16; round++) {
        if (db.expireSome(20) < 5) break;
      }
    }
  }
}

/** Parses `client-output-buffer-limit` (`normal 0 0 0 pubsub 33554432 8388608 60 …`): hard limits by class. */
export function parseOutputLimits(value: string): Record<string, number> | undefined {
  const parts = value.trim().split(/\s+/);
  if (parts.length % 4 !== 0) return undefined;
  const out: Record<string, number> = {};
  for (let i = 0; i < parts.length; i += 4) {
    const cls = (parts[i] as string).toLowerCase();
    if (!['normal', 'slave', 'replica', 'pubsub'].includes(cls)) return undefined;
    const hard = parseMemory(parts[i + 1] as string);
    if (hard === undefined) return undefined;
    out[cls] = hard;
  }
  return out;
}

function parseMemory(text: string): number | undefined {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(text);
  if (m === null) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = {
    b: 1,
    k: 1000,
    kb: 1024,
    m: 1e6,
    mb: 1024 * 1024,
    g: 1e9,
    gb: 1024 * 1024 * 1024,
  };
  return Number(m[1]) * (mult[unit] ?? 1);
}
