/**
 * Test harness for the lists / sorted-sets / pubsub families: raw RESP connections to a real
 * `redis-server` and to the embedded server (or, before it exists, to an in-process stand-in that
 * runs the family handlers over CORE's keyspace and RESP writer), so the same command sequence
 * can be replayed on both and the reply bytes compared.
 */
import { createConnection, type Socket } from 'node:net';
import { commands as listCommands } from '../src/commands/lists.js';
import { commands as pubsubCommands } from '../src/commands/pubsub.js';
import { commands as sortedSetCommands } from '../src/commands/sorted-sets.js';
import { KeyspaceDatabase } from '../src/db.js';
import { hubOf } from '../src/pubsub-hub.js';
import { RespWriter } from '../src/resp/writer.js';
import type {
  AccessControl,
  Block,
  ClientState,
  CommandContext,
  CommandSpec,
  Database,
  ReplyWriter,
  ServerCore,
} from '../src/types.js';

/** End offset of the complete reply at `offset`, or -1 when incomplete. */
export function replyEnd(buf: Buffer, offset: number): number {
  if (offset >= buf.length) return -1;
  const lineEnd = buf.indexOf('\r\n', offset, 'latin1');
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buf[offset] as number);
  const line = buf.toString('latin1', offset + 1, lineEnd);
  let next = lineEnd + 2;
  switch (type) {
    case '$':
    case '=':
    case '!': {
      const n = Number(line);
      if (n < 0) return next;
      return buf.length >= next + n + 2 ? next + n + 2 : -1;
    }
    case '*':
    case '>':
    case '~':
    case '%': {
      const n = Number(line);
      if (n < 0) return next;
      const items = type === '%' ? n * 2 : n;
      for (let i = 0; i < items; i++) {
        next = replyEnd(buf, next);
        if (next < 0) return -1;
      }
      return next;
    }
    default:
      return next;
  }
}

/** One connection that sends commands and collects raw replies. */
export interface RawConnection {
  /** Sends a command; resolves with the next `replies` replies' bytes (latin1), concatenated. */
  send(args: readonly string[], replies?: number): Promise<string>;
  /** Waits for `replies` more out-of-band replies (Pub/Sub messages). */
  receive(replies?: number): Promise<string>;
  close(): void;
}

function encode(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'latin1');
    parts.push(Buffer.from(`$${bytes.length}\r\n`, 'latin1'), bytes, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

/** Splits incoming bytes into replies and hands them to waiters in order. */
class ReplyQueue {
  #pending = Buffer.alloc(0);
  readonly #replies: string[] = [];
  readonly #waiters: { count: number; resolve: (text: string) => void }[] = [];

  push(bytes: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, bytes]);
    for (;;) {
      const end = replyEnd(this.#pending, 0);
      if (end < 0) break;
      this.#replies.push(this.#pending.toString('latin1', 0, end));
      this.#pending = this.#pending.subarray(end);
    }
    this.#drain();
  }

  take(count: number): Promise<string> {
    return new Promise((resolve) => {
      this.#waiters.push({ count, resolve });
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#replies.length >= (this.#waiters[0]?.count ?? 0)) {
      const waiter = this.#waiters.shift() as { count: number; resolve: (text: string) => void };
      waiter.resolve(this.#replies.splice(0, waiter.count).join(''));
    }
  }
}

/** A raw TCP connection to a server at `port`. */
export async function tcpConnection(port: number, host = '127.0.0.1'): Promise<RawConnection> {
  const socket: Socket = createConnection({ port, host });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const queue = new ReplyQueue();
  socket.on('data', (bytes: Buffer) => queue.push(bytes));
  return {
    send(args, replies = 1) {
      socket.write(encode(args));
      return queue.take(replies);
    },
    receive(replies = 1) {
      return queue.take(replies);
    },
    close() {
      socket.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The in-process stand-in server: this family's handlers, CORE's keyspace and writer, blocking
// served FIFO per key, Pub/Sub through the hub. Only what these tests need (plus DEL, SET, TYPE,
// EXISTS, PING, HELLO for setting up and reading state).

interface FakeClient extends ClientState {
  writer: RespWriter;
  queue: ReplyQueue;
  closed: boolean;
  blocked: Parked | undefined;
}

interface Parked {
  client: FakeClient;
  block: Block;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const FAMILY: CommandSpec[] = [...listCommands, ...sortedSetCommands, ...pubsubCommands];

/** A minimal ServerCore around the families under test. */
export class FakeServer implements ServerCore {
  readonly databases = 16;
  readonly config = new Map<string, string>();
  readonly stats = { commandsProcessed: 0, connectionsReceived: 0, startTime: Date.now() };
  readonly cluster = undefined;
  readonly acl: AccessControl = {
    authenticate: () => true,
    defaultAuthenticated: () => true,
    check: () => undefined,
  };
  readonly #dbs: KeyspaceDatabase[] = [];
  readonly #extensions = new Map<symbol, unknown>();
  readonly #closeListeners: ((client: ClientState) => void)[] = [];
  readonly #clients = new Set<FakeClient>();
  readonly #table = new Map<string, CommandSpec>();
  readonly #waiters = new Map<string, Parked[]>();
  #ready: string[] = [];
  #nextId = 1;

  constructor() {
    for (const spec of FAMILY) this.#table.set(spec.name, spec);
    const host = {
      now: () => Date.now(),
      keyReady: (db: number, key: string) => {
        this.#ready.push(`${db}\0${key}`);
      },
      modified: () => undefined,
      expired: () => undefined,
    };
    for (let i = 0; i < 16; i++) this.#dbs.push(new KeyspaceDatabase(i, host));
  }

  database(index: number): Database {
    return this.#dbs[index] as KeyspaceDatabase;
  }
  now(): number {
    return Date.now();
  }
  publish(channel: string, message: Buffer): number {
    return hubOf(this).publish(channel, message);
  }
  spublish(channel: string, message: Buffer): number {
    return hubOf(this).spublish(channel, message);
  }
  clients(): Iterable<ClientState> {
    return this.#clients;
  }
  deliver(client: ClientState, write: (out: ReplyWriter) => void): void {
    const fake = client as FakeClient;
    if (fake.closed) return;
    write(fake.writer);
    this.#flush(fake);
  }
  onClientClose(listener: (client: ClientState) => void): void {
    this.#closeListeners.push(listener);
  }
  extension<T>(key: symbol, create: () => T): T {
    if (!this.#extensions.has(key)) this.#extensions.set(key, create());
    return this.#extensions.get(key) as T;
  }
  execute(): void {
    throw new Error('not used by these tests');
  }
  command(name: string): CommandSpec | undefined {
    return this.#table.get(name);
  }

  #flush(client: FakeClient): void {
    const bytes = client.writer.take();
    if (bytes !== undefined) client.queue.push(bytes);
  }

  #context(client: FakeClient): CommandContext {
    return {
      server: this,
      client,
      db: this.database(client.db),
      out: client.writer,
      now: () => Date.now(),
      noBlock: false,
      inScript: false,
    };
  }

  /** A new connection. */
  connect(): RawConnection {
    const client: FakeClient = {
      id: this.#nextId++,
      name: undefined,
      db: 0,
      protocol: 2,
      user: 'default',
      authenticated: true,
      channels: new Set(),
      patterns: new Set(),
      shardChannels: new Set(),
      multi: undefined,
      watched: new Map(),
      address: '127.0.0.1:1',
      closeAfterReply: false,
      writer: new RespWriter(2),
      queue: new ReplyQueue(),
      closed: false,
      blocked: undefined,
    };
    this.#clients.add(client);
    return {
      send: (args, replies = 1) => {
        const taken = client.queue.take(replies);
        this.#run(
          client,
          args.map((arg) => Buffer.from(arg, 'latin1')),
        );
        return taken;
      },
      receive: (replies = 1) => client.queue.take(replies),
      close: () => {
        client.closed = true;
        this.#clients.delete(client);
        if (client.blocked !== undefined) this.#unpark(client.blocked);
        for (const listener of this.#closeListeners) listener(client);
      },
    };
  }

  #run(client: FakeClient, args: Buffer[]): void {
    const name = (args[0] as Buffer).toString('latin1').toLowerCase();
    const out = client.writer;
    const db = this.#dbs[client.db] as KeyspaceDatabase;
    if (this.#builtin(client, name, args, db)) {
      this.#flush(client);
      this.#serveReady();
      return;
    }
    let spec = this.#table.get(name);
    if (spec?.subcommands !== undefined && args.length > 1) {
      const sub = spec.subcommands[(args[1] as Buffer).toString('latin1').toLowerCase()];
      if (sub === undefined) {
        out.error(
          `ERR unknown subcommand '${(args[1] as Buffer).toString('latin1')}'. Try ${name.toUpperCase()} HELP.`,
        );
        this.#flush(client);
        return;
      }
      spec = sub;
    }
    if (spec === undefined) {
      out.error(`ERR unknown command '${name}'`);
    } else if (
      (spec.arity > 0 && args.length !== spec.arity) ||
      (spec.arity < 0 && args.length < -spec.arity)
    ) {
      out.error(`ERR wrong number of arguments for '${spec.name}' command`);
    } else {
      const block = spec.handler(this.#context(client), args);
      if (block !== undefined) this.#park(client, block);
    }
    this.#flush(client);
    this.#serveReady();
  }

  #builtin(client: FakeClient, name: string, args: Buffer[], db: KeyspaceDatabase): boolean {
    const out = client.writer;
    const key = args[1]?.toString('latin1') ?? '';
    switch (name) {
      case 'ping':
        out.simple('PONG');
        return true;
      case 'hello':
        client.protocol = Number(args[1]?.toString() ?? '2') === 3 ? 3 : 2;
        client.writer.protocol = client.protocol;
        out.map(0);
        return true;
      case 'del': {
        let n = 0;
        for (let i = 1; i < args.length; i++) if (db.delete((args[i] as Buffer).toString('latin1'))) n++;
        out.integer(n);
        return true;
      }
      case 'set':
        db.set(key, { type: 'string', value: args[2], expiresAt: undefined });
        out.simple('OK');
        return true;
      case 'exists':
        out.integer(db.get(key) === undefined ? 0 : 1);
        return true;
      case 'type':
        out.simple(db.get(key)?.type ?? 'none');
        return true;
      default:
        return false;
    }
  }

  #park(client: FakeClient, block: Block): void {
    const parked: Parked = { client, block, timer: undefined };
    client.blocked = parked;
    for (const key of block.keys) {
      const id = `${client.db}\0${key}`;
      let queue = this.#waiters.get(id);
      if (queue === undefined) {
        queue = [];
        this.#waiters.set(id, queue);
      }
      queue.push(parked);
    }
    if (block.timeoutMs > 0) {
      parked.timer = setTimeout(() => {
        this.#unpark(parked);
        block.timeout(this.#context(client));
        this.#flush(client);
      }, block.timeoutMs);
    }
  }

  #unpark(parked: Parked): void {
    if (parked.timer !== undefined) clearTimeout(parked.timer);
    parked.client.blocked = undefined;
    for (const key of parked.block.keys) {
      const id = `${parked.client.db}\0${key}`;
      const queue = this.#waiters.get(id);
      if (queue === undefined) continue;
      const at = queue.indexOf(parked);
      if (at >= 0) queue.splice(at, 1);
      if (queue.length === 0) this.#waiters.delete(id);
    }
  }

  #serveReady(): void {
    while (this.#ready.length > 0) {
      const ready = this.#ready;
      this.#ready = [];
      for (const id of new Set(ready)) {
        const queue = this.#waiters.get(id);
        if (queue === undefined) continue;
        for (const parked of [...queue]) {
          if (parked.block.retry(this.#context(parked.client))) {
            this.#unpark(parked);
            this.#flush(parked.client);
          }
        }
      }
    }
  }
}
