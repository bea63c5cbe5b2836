/**
 * The seams between the embedded server's parts. The protocol layer (src/resp, src/server.ts),
 * the keyspace (src/db.ts) and each command family (src/commands/<family>.ts) meet only here.
 *
 * Keys, hash fields, set members and channel names are *binary strings*: the bytes of the
 * original Buffer read as latin1 (`buf.toString('latin1')`), so every byte sequence maps to one
 * distinct JS string and back (`Buffer.from(s, 'latin1')`). Values stored in strings, lists and
 * streams are Buffers.
 */

/** What a command writes back. One instance per connection (RESP2 or RESP3) and one that builds
 * a value tree for Lua's `redis.call` and for tests. Calls are made in wire order. */
export interface ReplyWriter {
  /** The protocol version the reply is encoded for (2 or 3). */
  readonly protocol: 2 | 3;
  /** `+OK` */
  simple(text: string): void;
  /** `-ERR …`: pass the whole message including its code prefix, e.g. `ERR syntax error`, `WRONGTYPE …`. */
  error(message: string): void;
  /** `:n` */
  integer(value: number | bigint): void;
  /** `$n\r\n…` (a string is written as UTF-8 unless it is a binary string from a key: use Buffer then). */
  bulk(value: Buffer | string): void;
  /** Null bulk: `$-1` in RESP2, `_` in RESP3. */
  nullBulk(): void;
  /** Null array: `*-1` in RESP2, `_` in RESP3. */
  nullArray(): void;
  /** Array header; the caller then writes exactly `length` items. */
  array(length: number): void;
  /** Map header with `length` key/value pairs (RESP3 `%`, RESP2 a flat array of 2×length). */
  map(length: number): void;
  /** Set header (RESP3 `~`, RESP2 `*`). */
  set(length: number): void;
  /** Double (RESP3 `,`, RESP2 a bulk string formatted as Redis does: `%.17g`, inf/-inf). */
  double(value: number): void;
  /** Boolean (RESP3 `#t`/`#f`, RESP2 integer 1/0). */
  boolean(value: boolean): void;
  /** Push header (RESP3 `>`, RESP2 `*`): Pub/Sub messages and invalidations. */
  push(length: number): void;
  /** Verbatim string (RESP3 `=`, RESP2 bulk): INFO and CLIENT INFO. */
  verbatim(text: string): void;
}

/** The six value types of the keyspace. */
export type ValueType = 'string' | 'list' | 'hash' | 'set' | 'zset' | 'stream';

/** One key's value. `value`'s shape belongs to the family that owns the type (src/data/<type>.ts). */
export interface Entry {
  type: ValueType;
  value: unknown;
  /** Absolute expiry time in ms on the server clock, or undefined for no expiry. */
  expiresAt: number | undefined;
}

/** One logical database (SELECT n). Lazy expiry happens in `get`/`has`; active expiry is the server's. */
export interface Database {
  readonly index: number;
  /** The live entry, or undefined (an expired entry is deleted on the way). */
  get(key: string): Entry | undefined;
  /** The live entry when of `type`; undefined when missing; throws `WrongTypeError` on another type. */
  getTyped(key: string, type: ValueType): Entry | undefined;
  /** Stores (replacing) an entry; `keepTtl` keeps the current expiry. Marks the key modified. */
  set(key: string, entry: Entry, keepTtl?: boolean): void;
  /** Removes a key; true when it existed. Marks the key modified. */
  delete(key: string): boolean;
  /** Number of live keys (may count not-yet-reaped expired keys, as Redis's DBSIZE does). */
  size(): number;
  /** All keys, live or not yet reaped, in insertion order. */
  keys(): IterableIterator<string>;
  /** Empties the database. */
  clear(): void;
  /**
   * Says the key's value changed in place (a command mutated a list, hash, stream…): bumps its
   * version for WATCH and, with `ready`, wakes clients blocked on the key (BLPOP, XREADGROUP …).
   * `delete`/`set` call it themselves; commands that mutate an entry's value call it.
   */
  touch(key: string, ready?: boolean): void;
  /** The key's modification version, for WATCH. */
  version(key: string): number;
}

/** Per-connection state that commands read and change. */
export interface ClientState {
  readonly id: number;
  name: string | undefined;
  /** The selected database index. */
  db: number;
  protocol: 2 | 3;
  /** Authenticated ACL user name (`default` when no password is set). */
  user: string;
  authenticated: boolean;
  /** Classic channels, patterns and shard channels this client is subscribed to. */
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
  readonly shardChannels: Set<string>;
  /** Queued commands while in MULTI, else undefined. */
  multi: { commands: Buffer[][]; failed: boolean } | undefined;
  /** WATCHed keys → version when watched (db index + key). */
  readonly watched: Map<string, { db: number; version: number }>;
  /** Remote address `ip:port`, for CLIENT LIST. */
  readonly address: string;
  /** Marked to close after its pending replies are flushed (QUIT, CLIENT KILL). */
  closeAfterReply: boolean;
  /** Library info from CLIENT SETINFO. */
  libName?: string;
  libVersion?: string;
}

/**
 * A blocking command that could not be served at once. The server parks the client on `keys`
 * (FIFO per key, as Redis serves waiters), calls `retry` when one of them is touched with
 * `ready`, and calls `timeout` when `timeoutMs` passes (0 = forever). `retry` writes the reply
 * and returns true when it served the client; false leaves it waiting.
 */
export interface Block {
  readonly kind: 'block';
  readonly keys: readonly string[];
  readonly timeoutMs: number;
  retry(ctx: CommandContext): boolean;
  timeout(ctx: CommandContext): void;
}

/** What a command's handler sees. */
export interface CommandContext {
  readonly server: ServerCore;
  readonly client: ClientState;
  /** The client's selected database. */
  readonly db: Database;
  /** Where the reply goes. */
  readonly out: ReplyWriter;
  /** Current time in ms from the server's (injectable) clock. */
  now(): number;
  /** True inside MULTI/EXEC or a Lua script: blocking commands must not block (reply as on timeout). */
  readonly noBlock: boolean;
  /** True inside a Lua script. */
  readonly inScript: boolean;
}

/** A command's handler: writes its reply to `ctx.out` (exactly one reply), or returns a Block. */
export type CommandHandler = (ctx: CommandContext, args: Buffer[]) => Block | undefined;

/** ACL categories Redis documents (`@read`, `@write`, `@pubsub` …), without the `@`. */
export type CommandCategory =
  | 'keyspace'
  | 'read'
  | 'write'
  | 'set'
  | 'sortedset'
  | 'list'
  | 'hash'
  | 'string'
  | 'bitmap'
  | 'hyperloglog'
  | 'geo'
  | 'stream'
  | 'pubsub'
  | 'admin'
  | 'fast'
  | 'slow'
  | 'blocking'
  | 'dangerous'
  | 'connection'
  | 'transaction'
  | 'scripting';

/**
 * One command as COMMAND INFO describes it. `arity` follows Redis: positive = exact argument
 * count including the name, negative = at least that many. Keys are at `firstKey..lastKey` step
 * `step` (lastKey -1 = the last argument; 0,0,0 = no keys); `keys` overrides that for commands
 * whose keys are found otherwise (XREAD's STREAMS, EVAL's numkeys).
 */
export interface CommandSpec {
  readonly name: string;
  readonly arity: number;
  readonly flags: readonly string[];
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  readonly categories: readonly CommandCategory[];
  /** Subcommands (CLIENT SETNAME, XGROUP CREATE …) by lower-case name; the parent handler is unused then. */
  readonly subcommands?: Readonly<Record<string, CommandSpec>>;
  /** Key positions for commands whose keys are not a fixed range. */
  keys?(args: Buffer[]): number[];
  readonly handler: CommandHandler;
}

/** Server-wide services the command families use. Implemented by src/server.ts. */
export interface ServerCore {
  /** Database `index` (0..15). */
  database(index: number): Database;
  readonly databases: number;
  /** Current time in ms from the injectable clock. */
  now(): number;
  /** Parameters CONFIG GET/SET honour, by lower-case name. */
  readonly config: Map<string, string>;
  /** Publish to classic subscribers and pattern subscribers; returns receivers. */
  publish(channel: string, message: Buffer): number;
  /** Publish to shard-channel subscribers; returns receivers. */
  spublish(channel: string, message: Buffer): number;
  /** All connected clients. */
  clients(): Iterable<ClientState>;
  /**
   * Writes an out-of-band reply to a client's connection and flushes it (Pub/Sub messages, a
   * blocked client's reply). A client that has gone is ignored.
   */
  deliver(client: ClientState, write: (out: ReplyWriter) => void): void;
  /** Calls `listener` when any client disconnects (Pub/Sub and blocking bookkeeping). */
  onClientClose(listener: (client: ClientState) => void): void;
  /** Per-server state of a command family (the Pub/Sub hub, the script cache …), created once. */
  extension<T>(key: symbol, create: () => T): T;
  /** Authentication and authorisation (src/acl.ts). */
  readonly acl: AccessControl;
  /** Set when this server is one node of an embedded Cluster (src/cluster.ts). */
  readonly cluster: ClusterNodeView | undefined;
  /** Runs one command as if `client` sent it, writing to `out` (for EXEC and Lua). */
  execute(
    client: ClientState,
    args: Buffer[],
    out: ReplyWriter,
    flags: { noBlock: boolean; inScript: boolean },
  ): void;
  /** Looks a command up by lower-case name. */
  command(name: string): CommandSpec | undefined;
  /**
   * Makes the running command be recorded in the AOF as `commands` instead of itself, for
   * commands whose effect is not reproduced by replaying them (SPOP → SREM of what it popped).
   * Without it, a command that changed the dataset is recorded as sent (relative expiries and
   * `XADD *` are made absolute by the AOF itself).
   */
  propagateAs?(...commands: Buffer[][]): void;
  /**
   * False when no command is recorded (no AOF): commands may then skip building the replayable
   * form of themselves. Undefined counts as true.
   */
  readonly propagating?: boolean;
  readonly stats: { commandsProcessed: number; connectionsReceived: number; startTime: number };
}

/** A family module's export: `export const commands: CommandSpec[] = [...]`. */
export type CommandFamily = readonly CommandSpec[];

/** The error Redis returns for an operation against a key of another type. */
export class WrongTypeError extends Error {
  constructor() {
    super('WRONGTYPE Operation against a key holding the wrong kind of value');
    this.name = 'WrongTypeError';
  }
}

/**
 * An error reply thrown from deep inside a command (argument parsing, type checks). The server
 * catches it and writes `message` as the error reply; any other exception becomes
 * `ERR internal error …` and is logged.
 */
export class ReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyError';
  }
}

/** The server's access control: users, passwords, key/channel patterns and command permissions. */
export interface AccessControl {
  /** The user name when `password` is right for `user`, else undefined (AUTH, HELLO AUTH). */
  authenticate(user: string, password: string): boolean;
  /** True when connections start authenticated as `default` (no requirepass, default user nopass). */
  defaultAuthenticated(): boolean;
  /**
   * Undefined when `user` may run `spec` with `args` (command, keys, channels), else the error
   * reply, e.g. `NOPERM User alice has no permissions to run the 'flushall' command`.
   */
  check(user: string, spec: CommandSpec, args: Buffer[], keyPositions: readonly number[]): string | undefined;
}

/** What the server needs to know about the Cluster it is a node of. */
export interface ClusterNodeView {
  /** True when this node serves `slot`. */
  owns(slot: number): boolean;
  /** `host:port` of the node serving `slot`, for `MOVED <slot> <host:port>`. */
  ownerAddress(slot: number): string;
}
