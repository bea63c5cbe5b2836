import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ProtocolError, RequestParser } from './resp/parser.js';
import type { EmbeddedServer } from './server.js';
import type { Entry } from './types.js';

/** When the AOF is flushed to disk (Redis's `appendfsync`). */
export type AofFsync = 'always' | 'everysec' | 'no';

/** AOF options. */
export interface AofOptions {
  /** Directory of the append-only file (created when missing). */
  dir: string;
  /** `always`: fsync before replies are sent; `everysec`: once a second; `no`: leave it to the OS. */
  fsync: AofFsync;
  /** File name inside `dir`; default `appendonly.aof`. */
  filename?: string;
}

const AUTO_REWRITE_MIN_SIZE = 64 * 1024 * 1024;
const RELATIVE_EXPIRY = new Set([
  'expire',
  'pexpire',
  'setex',
  'psetex',
  'set',
  'getex',
  'expireat',
  'restore',
]);

function encode(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  for (const arg of args) {
    parts.push(Buffer.from(`$${arg.length}\r\n`, 'latin1'), arg, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Commands that recreate one key (AOF rewrite). */
export function entryCommands(key: string, entry: Entry): Buffer[][] {
  const k = b(key);
  const out: Buffer[][] = [];
  const value = entry.value as {
    values?: () => Iterable<Buffer>;
    rangeByRank?: (start: number, stop: number) => { member: string; score: number }[];
    rewriteCommands?: (key: Buffer) => Buffer[][];
  };
  switch (entry.type) {
    case 'string':
      out.push([b('SET'), k, entry.value as Buffer]);
      break;
    case 'hash': {
      const args: Buffer[] = [b('HSET'), k];
      for (const [field, v] of entry.value as Map<string, Buffer>) args.push(b(field), v);
      out.push(args);
      break;
    }
    case 'set':
      out.push([b('SADD'), k, ...[...(entry.value as Set<string>)].map(b)]);
      break;
    case 'list':
      if (typeof value.values !== 'function') throw new Error('list value without values()');
      out.push([b('RPUSH'), k, ...(value.values() as Iterable<Buffer>)] as Buffer[]);
      break;
    case 'zset': {
      if (typeof value.rangeByRank !== 'function') throw new Error('zset value without rangeByRank()');
      const args: Buffer[] = [b('ZADD'), k];
      const size = (entry.value as { size: number }).size;
      for (const { member, score } of value.rangeByRank(0, size - 1)) {
        args.push(b(Number.isFinite(score) ? String(score) : score > 0 ? '+inf' : '-inf'), b(member));
      }
      out.push(args);
      break;
    }
    case 'stream':
      if (typeof value.rewriteCommands !== 'function')
        throw new Error('stream value without rewriteCommands()');
      out.push(...value.rewriteCommands(k));
      break;
  }
  if (entry.expiresAt !== undefined) out.push([b('PEXPIREAT'), k, b(String(entry.expiresAt))]);
  return out;
}

/**
 * The append-only file: every write command that changed the dataset is appended in RESP (with
 * relative expiries made absolute and XADD's `*` made explicit), written before the replies of
 * the same event-loop turn go out, and fsynced per `appendfsync`. Replayed on start, tolerating a
 * truncated last record; compacted by `rewrite()`.
 */
export class AppendOnlyFile {
  readonly path: string;
  #fsync: AofFsync;
  readonly #server: EmbeddedServer;
  #fd: number | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #db = -1;
  #size = 0;
  #baseSize = 0;
  #timer: NodeJS.Timeout | undefined;
  #dirtySinceSync = false;

  constructor(server: EmbeddedServer, options: AofOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.path = join(options.dir, options.filename ?? 'appendonly.aof');
    this.#fsync = options.fsync;
    this.#server = server;
  }

  get fsync(): AofFsync {
    return this.#fsync;
  }

  set fsync(value: AofFsync) {
    this.#fsync = value;
  }

  /** Replays the file into the server's databases; returns the number of commands applied. */
  load(): number {
    if (!existsSync(this.path)) return 0;
    const data = readFileSync(this.path);
    const parser = new RequestParser();
    parser.maxBulkLen = Number.MAX_SAFE_INTEGER;
    parser.push(data);
    const client = this.#server.internalClient();
    const saved = this.#server.propagator;
    this.#server.propagator = undefined;
    let applied = 0;
    let goodEnd = 0;
    try {
      for (;;) {
        let args: Buffer[] | undefined;
        try {
          args = parser.next();
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          break;
        }
        if (args === undefined) break;
        this.#server.call(client, args);
        applied++;
        goodEnd = data.length - parser.buffered;
      }
    } finally {
      this.#server.propagator = saved;
    }
    if (goodEnd < data.length) {
      console.warn(
        `embedded-redis: ${this.path} ends with ${data.length - goodEnd} bytes of an incomplete record; truncating them`,
      );
      const fd = openSync(this.path, 'r+');
      ftruncateSync(fd, goodEnd);
      fsyncSync(fd);
      closeSync(fd);
    }
    this.#size = goodEnd;
    this.#baseSize = goodEnd;
    return applied;
  }

  /** Opens the file for appending and starts receiving the server's writes. */
  start(): void {
    this.#fd = openSync(this.path, 'a');
    this.#db = -1;
    this.#server.propagator = (db, args) => this.append(db, args);
    this.#server.beforeReply = () => this.flush();
    this.#timer = setInterval(() => {
      this.flush();
      if (this.#fsync === 'everysec' && this.#dirtySinceSync && this.#fd !== undefined) {
        fsyncSync(this.#fd);
        this.#dirtySinceSync = false;
      }
    }, 1000);
    this.#timer.unref();
  }

  /** Queues one executed write command. */
  append(db: number, args: Buffer[]): void {
    if (db !== this.#db) {
      this.#push([b('SELECT'), b(String(db))]);
      this.#db = db;
    }
    const name = (args[0] as Buffer).toString('latin1').toLowerCase();
    if (name === 'xadd') {
      const star = args.findIndex((a, i) => i > 1 && a.length === 1 && a[0] === 42);
      const entry = this.#server.database(db).peek((args[1] as Buffer).toString('latin1'));
      const lastId = (entry?.value as { lastId?: { ms: bigint; seq: bigint } } | undefined)?.lastId;
      if (star > 1 && lastId !== undefined) {
        args = args.slice();
        args[star] = b(`${lastId.ms}-${lastId.seq}`);
      }
    }
    this.#push(args);
    if (RELATIVE_EXPIRY.has(name) && args.length > 1) {
      const key = args[1] as Buffer;
      const entry = this.#server.database(db).peek(key.toString('latin1'));
      if (entry?.expiresAt !== undefined) this.#push([b('PEXPIREAT'), key, b(String(entry.expiresAt))]);
    }
  }

  #push(args: readonly Buffer[]): void {
    const bytes = encode(args);
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
  }

  /** Writes what was queued (and fsyncs under `always`): called before replies are sent. */
  flush(): void {
    if (this.#pendingBytes === 0 || this.#fd === undefined) return;
    const data =
      this.#pending.length === 1
        ? (this.#pending[0] as Buffer)
        : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    let written = 0;
    while (written < data.length) written += writeSync(this.#fd, data, written);
    this.#size += data.length;
    if (this.#fsync === 'always') fsyncSync(this.#fd);
    else this.#dirtySinceSync = true;
    if (this.#size > AUTO_REWRITE_MIN_SIZE && this.#size > this.#baseSize * 2) this.rewrite();
  }

  /** Rewrites the file as the shortest commands that recreate the current dataset. */
  rewrite(): void {
    this.flush();
    const tmp = `${this.path}.rewrite-tmp`;
    const fd = openSync(tmp, 'w');
    let size = 0;
    const write = (args: readonly Buffer[]) => {
      const bytes = encode(args);
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      size += bytes.length;
    };
    const now = this.#server.now();
    for (let i = 0; i < this.#server.databases; i++) {
      const db = this.#server.database(i);
      if (db.size() === 0) continue;
      write([b('SELECT'), b(String(i))]);
      for (const [key, entry] of db.entries()) {
        if (entry.expiresAt !== undefined && entry.expiresAt <= now) continue;
        for (const args of entryCommands(key, entry)) write(args);
      }
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = openSync(this.path, 'a');
    this.#db = -1;
    this.#size = size;
    this.#baseSize = Math.max(size, 1);
  }

  /** Flushes, fsyncs and closes the file; the server stops propagating to it. */
  close(): void {
    this.flush();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#fd !== undefined) {
      fsyncSync(this.#fd);
      closeSync(this.#fd);
    }
    this.#fd = undefined;
    if (this.#server.beforeReply !== undefined) this.#server.beforeReply = undefined;
    this.#server.propagator = undefined;
  }

  /** Current size of the file in bytes. */
  size(): number {
    return existsSync(this.path) ? statSync(this.path).size : 0;
  }
}

/**
 * Gives `server` an append-only file: replays `options`' file when present, then appends to it,
 * and follows CONFIG SET appendonly/appendfsync. Returns the file (undefined when `options` is).
 */
export function attachAof(
  server: EmbeddedServer,
  options: AofOptions | undefined,
): AppendOnlyFile | undefined {
  let aof: AppendOnlyFile | undefined;
  if (options !== undefined) {
    server.config.set('appendonly', 'yes');
    server.config.set('appendfsync', options.fsync);
    server.config.set('dir', options.dir);
    aof = new AppendOnlyFile(server, options);
    aof.load();
    aof.start();
    server.aof = aof;
  }
  server.onConfig('appendonly', (value) => {
    if (value === 'yes' && server.aof === undefined) {
      const fsync = (server.config.get('appendfsync') ?? 'everysec') as AofFsync;
      const created = new AppendOnlyFile(server, { dir: server.config.get('dir') ?? process.cwd(), fsync });
      created.rewrite();
      created.start();
      server.aof = created;
    } else if (value === 'no' && server.aof !== undefined) {
      server.aof.close();
      server.aof = undefined;
    }
  });
  server.onConfig('appendfsync', (value) => {
    const current = server.aof as AppendOnlyFile | undefined;
    if (current !== undefined) current.fsync = value as AofFsync;
  });
  return aof;
}
