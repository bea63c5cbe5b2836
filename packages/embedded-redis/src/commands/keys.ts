import {
  command,
  containerHandler,
  ERR_SYNTAX,
  lowerArg,
  parseInt64,
  parseInteger,
  subcommands,
} from '../args.js';
import type { KeyspaceDatabase } from '../db.js';
import { globMatch } from '../glob.js';
import {
  type CommandContext,
  type CommandFamily,
  type CommandHandler,
  type Database,
  type Entry,
  ReplyError,
  type ValueType,
} from '../types.js';
import { helpHandler } from './connection.js';

function keyOf(arg: Buffer | undefined): string {
  return (arg as Buffer).toString('latin1');
}

// ---- cursors (SCAN, HSCAN, SSCAN) ----

const ITERATORS_KEPT = 64;

/**
 * Cursor iteration over a live collection. A cursor is the number of items returned so far; the
 * live iterator behind it is kept (a Map/Set iterator sees deletions and additions safely), so a
 * full iteration returns every item present throughout, as Redis guarantees. A cursor whose
 * iterator is gone resumes by position.
 */
export class CursorTable<T> {
  readonly #iterators = new Map<string, Iterator<T>>();
  #next = 1;

  /** The items of one SCAN step and the next cursor (0 when done). */
  step(id: string, cursor: number, source: () => Iterator<T>, count: number): { items: T[]; cursor: number } {
    const token = `${id}\u0000${cursor}`;
    let iterator = cursor === 0 ? undefined : this.#iterators.get(token);
    this.#iterators.delete(token);
    let position = cursor;
    if (iterator === undefined) {
      iterator = source();
      for (let i = 0; i < cursor; i++) if (iterator.next().done) return { items: [], cursor: 0 };
      position = cursor;
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) {
      const step = iterator.next();
      if (step.done) return { items, cursor: 0 };
      items.push(step.value);
    }
    // A cursor value that is unique per live iterator: position plus a salt in high bits.
    const next = position + items.length + this.#next++ * 2 ** 32;
    this.#iterators.set(`${id}\u0000${next}`, iterator);
    if (this.#iterators.size > ITERATORS_KEPT) {
      const [oldest] = this.#iterators.keys();
      if (oldest !== undefined) this.#iterators.delete(oldest);
    }
    return { items, cursor: next };
  }
}

/** Parses a SCAN cursor (`ERR invalid cursor`). Returns the position part. */
export function parseCursor(arg: Buffer | undefined): number {
  const text = arg === undefined ? '' : arg.toString('latin1');
  if (!/^\d+$/.test(text)) throw new ReplyError('ERR invalid cursor');
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new ReplyError('ERR invalid cursor');
  return value;
}

/** SCAN-family options: MATCH, COUNT and (SCAN only) TYPE. */
export function parseScanOptions(
  args: Buffer[],
  from: number,
  allowType: boolean,
): { match: string | undefined; count: number; type: string | undefined } {
  let match: string | undefined;
  let count = 10;
  let type: string | undefined;
  for (let i = from; i < args.length; i++) {
    const option = lowerArg(args[i]);
    if (i + 1 >= args.length) throw new ReplyError(ERR_SYNTAX);
    if (option === 'match') {
      match = keyOf(args[++i]);
      if (match === '*') match = undefined;
    } else if (option === 'count') {
      count = parseInteger(args[++i]);
      if (count < 1) throw new ReplyError(ERR_SYNTAX);
    } else if (option === 'type' && allowType) {
      type = lowerArg(args[++i]);
    } else {
      throw new ReplyError(ERR_SYNTAX);
    }
  }
  return { match, count, type };
}

function cursors(ctx: CommandContext): CursorTable<string> {
  return ctx.server.extension(CURSORS, () => new CursorTable<string>());
}
const CURSORS = Symbol('keys.scan.cursors');

const scan: CommandHandler = (ctx, args) => {
  const cursor = parseCursor(args[1]);
  const { match, count, type } = parseScanOptions(args, 2, true);
  const db = ctx.db;
  const step = cursors(ctx).step(`db${db.index}`, cursor, () => db.keys(), count);
  const keys: string[] = [];
  for (const key of step.items) {
    const entry = db.get(key);
    if (entry === undefined) continue;
    if (match !== undefined && !globMatch(match, key)) continue;
    if (type !== undefined && entry.type !== type) continue;
    keys.push(key);
  }
  ctx.out.array(2);
  ctx.out.bulk(String(step.cursor));
  ctx.out.array(keys.length);
  for (const key of keys) ctx.out.bulk(Buffer.from(key, 'latin1'));
  return undefined;
};

const keysCommand: CommandHandler = (ctx, args) => {
  const pattern = keyOf(args[1]);
  const db = ctx.db;
  const found: string[] = [];
  for (const key of [...db.keys()]) {
    if (pattern !== '*' && !globMatch(pattern, key)) continue;
    if (db.get(key) !== undefined) found.push(key);
  }
  ctx.out.array(found.length);
  for (const key of found) ctx.out.bulk(Buffer.from(key, 'latin1'));
  return undefined;
};

const randomkey: CommandHandler = (ctx) => {
  const db = ctx.db;
  for (let attempt = 0; attempt < 100 && db.size() > 0; attempt++) {
    const target = Math.floor(Math.random() * db.size());
    let i = 0;
    for (const key of db.keys()) {
      if (i++ < target) continue;
      if (db.get(key) !== undefined) {
        ctx.out.bulk(Buffer.from(key, 'latin1'));
        return undefined;
      }
      break;
    }
  }
  ctx.out.nullBulk();
  return undefined;
};

// ---- existence and deletion ----

const del: CommandHandler = (ctx, args) => {
  let removed = 0;
  for (let i = 1; i < args.length; i++) if (ctx.db.delete(keyOf(args[i]))) removed++;
  ctx.out.integer(removed);
  return undefined;
};

const exists: CommandHandler = (ctx, args) => {
  let found = 0;
  for (let i = 1; i < args.length; i++) if (ctx.db.get(keyOf(args[i])) !== undefined) found++;
  ctx.out.integer(found);
  return undefined;
};

const type: CommandHandler = (ctx, args) => {
  ctx.out.simple(ctx.db.get(keyOf(args[1]))?.type ?? 'none');
  return undefined;
};

// ---- expiry ----

function expireGeneric(unitMs: number, absolute: boolean, name: string): CommandHandler {
  return (ctx, args) => {
    const key = keyOf(args[1]);
    const big = parseInt64(args[2]);
    let nx = false;
    let xx = false;
    let gt = false;
    let lt = false;
    for (let i = 3; i < args.length; i++) {
      const option = lowerArg(args[i]);
      if (option === 'nx') nx = true;
      else if (option === 'xx') xx = true;
      else if (option === 'gt') gt = true;
      else if (option === 'lt') lt = true;
      else throw new ReplyError(`ERR Unsupported option ${(args[i] as Buffer).toString('latin1')}`);
    }
    if (nx && (xx || gt || lt)) {
      throw new ReplyError('ERR NX and XX, GT or LT options at the same time are not compatible');
    }
    if (gt && lt) throw new ReplyError('ERR GT and LT options at the same time are not compatible');
    const invalid = `ERR invalid expire time in '${name}' command`;
    if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < -BigInt(Number.MAX_SAFE_INTEGER))
      throw new ReplyError(invalid);
    const value = Number(big);
    if (unitMs === 1000 && Math.abs(value) > Number.MAX_SAFE_INTEGER / 1000) throw new ReplyError(invalid);
    let at = value * unitMs;
    if (!absolute) at += ctx.now();
    if (!Number.isSafeInteger(at)) throw new ReplyError(invalid);
    const entry = ctx.db.get(key);
    if (entry === undefined) {
      ctx.out.integer(0);
      return undefined;
    }
    const current = entry.expiresAt;
    if (
      (nx && current !== undefined) ||
      (xx && current === undefined) ||
      (gt && (current === undefined || at <= current)) ||
      (lt && current !== undefined && at >= current)
    ) {
      ctx.out.integer(0);
      return undefined;
    }
    if (at <= ctx.now()) {
      ctx.db.delete(key);
    } else {
      entry.expiresAt = at;
      ctx.db.touch(key);
    }
    ctx.out.integer(1);
    return undefined;
  };
}

function ttlGeneric(ms: boolean, absolute: boolean): CommandHandler {
  return (ctx, args) => {
    const entry = ctx.db.get(keyOf(args[1]));
    if (entry === undefined) ctx.out.integer(-2);
    else if (entry.expiresAt === undefined) ctx.out.integer(-1);
    else if (absolute) ctx.out.integer(ms ? entry.expiresAt : Math.floor((entry.expiresAt + 500) / 1000));
    else {
      const left = Math.max(0, entry.expiresAt - ctx.now());
      ctx.out.integer(ms ? left : Math.floor((left + 500) / 1000));
    }
    return undefined;
  };
}

const persist: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  const entry = ctx.db.get(key);
  if (entry === undefined || entry.expiresAt === undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  entry.expiresAt = undefined;
  ctx.db.touch(key);
  ctx.out.integer(1);
  return undefined;
};

// ---- rename and copy ----

function renameGeneric(nx: boolean): CommandHandler {
  return (ctx, args) => {
    const from = keyOf(args[1]);
    const to = keyOf(args[2]);
    const entry = ctx.db.get(from);
    if (entry === undefined) throw new ReplyError('ERR no such key');
    if (from === to) {
      if (nx) ctx.out.integer(0);
      else ctx.out.simple('OK');
      return undefined;
    }
    if (nx && ctx.db.get(to) !== undefined) {
      ctx.out.integer(0);
      return undefined;
    }
    ctx.db.delete(from);
    ctx.db.delete(to);
    ctx.db.set(to, entry);
    if (nx) ctx.out.integer(1);
    else ctx.out.simple('OK');
    return undefined;
  };
}

/** A deep copy of an entry's value (COPY). */
export function cloneValue(entry: Entry): unknown {
  const value = entry.value as { clone?: () => unknown };
  switch (entry.type) {
    case 'string':
      return Buffer.from(entry.value as Buffer);
    case 'hash':
      return new Map(entry.value as Map<string, Buffer>);
    case 'set':
      return new Set(entry.value as Set<string>);
    default:
      if (typeof value.clone === 'function') return value.clone();
      throw new ReplyError(`ERR COPY is not supported for ${entry.type} values by the embedded server`);
  }
}

const copy: CommandHandler = (ctx, args) => {
  const from = keyOf(args[1]);
  const to = keyOf(args[2]);
  let target: Database = ctx.db;
  let replace = false;
  for (let i = 3; i < args.length; i++) {
    const option = lowerArg(args[i]);
    if (option === 'replace') replace = true;
    else if (option === 'db' && i + 1 < args.length) {
      const index = parseInteger(args[++i]);
      if (index < 0 || index >= ctx.server.databases) throw new ReplyError('ERR DB index is out of range');
      target = ctx.server.database(index);
    } else throw new ReplyError(ERR_SYNTAX);
  }
  if (from === to && target === ctx.db) {
    throw new ReplyError('ERR source and destination objects are the same');
  }
  const entry = ctx.db.get(from);
  if (entry === undefined || (!replace && target.get(to) !== undefined)) {
    ctx.out.integer(0);
    return undefined;
  }
  target.delete(to);
  target.set(to, { type: entry.type, value: cloneValue(entry), expiresAt: entry.expiresAt });
  ctx.out.integer(1);
  return undefined;
};

// ---- OBJECT ----

/** The encoding Redis 7.0 would report for an entry (OBJECT ENCODING). */
export function encodingOf(ctx: CommandContext, entry: Entry): string {
  const config = ctx.server.config;
  const num = (name: string, fallback: number) => Number(config.get(name) ?? fallback);
  switch (entry.type) {
    case 'string': {
      const value = entry.value as Buffer;
      if (value.length <= 20 && /^-?(0|[1-9]\d*)$/.test(value.toString('latin1'))) {
        const n = BigInt(value.toString('latin1'));
        if (n >= -(2n ** 63n) && n < 2n ** 63n) return 'int';
      }
      return value.length <= 44 ? 'embstr' : 'raw';
    }
    case 'hash': {
      const map = entry.value as Map<string, Buffer>;
      if (map.size > num('hash-max-listpack-entries', 128)) return 'hashtable';
      const limit = num('hash-max-listpack-value', 64);
      for (const [field, value] of map) if (field.length > limit || value.length > limit) return 'hashtable';
      return 'listpack';
    }
    case 'set': {
      const set = entry.value as Set<string>;
      if (set.size > num('set-max-intset-entries', 512)) return 'hashtable';
      for (const member of set) {
        if (!/^-?(0|[1-9]\d{0,18})$/.test(member)) return 'hashtable';
        const n = BigInt(member);
        if (n < -(2n ** 63n) || n >= 2n ** 63n) return 'hashtable';
      }
      return 'intset';
    }
    case 'list':
      return (entry.value as { length: number }).length > 128 ? 'quicklist' : 'listpack';
    case 'zset': {
      const size = (entry.value as { size?: number; length?: number }).size ?? 0;
      return size > num('zset-max-listpack-entries', 128) ? 'skiplist' : 'listpack';
    }
    default:
      return 'stream';
  }
}

function objectLookup(ctx: CommandContext, args: Buffer[]): Entry | undefined {
  const entry = ctx.db.get(keyOf(args[2]));
  if (entry === undefined) ctx.out.nullBulk();
  return entry;
}

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Print this help.',
];

const touchCommand: CommandHandler = (ctx, args) => {
  let found = 0;
  for (let i = 1; i < args.length; i++) if (ctx.db.get(keyOf(args[i])) !== undefined) found++;
  ctx.out.integer(found);
  return undefined;
};

const R = ['readonly', 'fast'];
const KRF = ['keyspace', 'read', 'fast'] as const;
const KWF = ['keyspace', 'write', 'fast'] as const;
const KWS = ['keyspace', 'write', 'slow'] as const;

/** The key-space commands: DEL, EXISTS, EXPIRE family, TTL family, TYPE, RENAME, SCAN, KEYS, COPY … */
export const commands: CommandFamily = [
  command('del', -2, ['write'], [1, -1, 1], KWS, del),
  command('unlink', -2, ['write', 'fast'], [1, -1, 1], KWF, del),
  command('exists', -2, R, [1, -1, 1], KRF, exists),
  command('type', 2, R, [1, 1, 1], KRF, type),
  command('expire', -3, ['write', 'fast'], [1, 1, 1], KWF, expireGeneric(1000, false, 'expire')),
  command('pexpire', -3, ['write', 'fast'], [1, 1, 1], KWF, expireGeneric(1, false, 'pexpire')),
  command('expireat', -3, ['write', 'fast'], [1, 1, 1], KWF, expireGeneric(1000, true, 'expireat')),
  command('pexpireat', -3, ['write', 'fast'], [1, 1, 1], KWF, expireGeneric(1, true, 'pexpireat')),
  command('ttl', 2, R, [1, 1, 1], KRF, ttlGeneric(false, false)),
  command('pttl', 2, R, [1, 1, 1], KRF, ttlGeneric(true, false)),
  command('expiretime', 2, R, [1, 1, 1], KRF, ttlGeneric(false, true)),
  command('pexpiretime', 2, R, [1, 1, 1], KRF, ttlGeneric(true, true)),
  command('persist', 2, ['write', 'fast'], [1, 1, 1], KWF, persist),
  command('rename', 3, ['write'], [1, 2, 1], KWS, renameGeneric(false)),
  command('renamenx', 3, ['write', 'fast'], [1, 2, 1], KWF, renameGeneric(true)),
  command('copy', -3, ['write', 'denyoom'], [1, 2, 1], KWS, copy),
  command('scan', -2, ['readonly'], [0, 0, 0], ['keyspace', 'read', 'slow'], scan),
  command('keys', 2, ['readonly'], [0, 0, 0], ['keyspace', 'read', 'slow', 'dangerous'], keysCommand),
  command('randomkey', 1, ['readonly'], [0, 0, 0], ['keyspace', 'read', 'slow'], randomkey),
  command('touch', -2, R, [1, -1, 1], KRF, touchCommand),
  command('object', -2, [], [0, 0, 0], ['slow'], containerHandler, {
    subcommands: subcommands('object', [
      command('object|encoding', 3, ['readonly'], [2, 2, 1], ['keyspace', 'read', 'slow'], (ctx, args) => {
        const entry = objectLookup(ctx, args);
        if (entry !== undefined) ctx.out.bulk(encodingOf(ctx, entry));
        return undefined;
      }),
      command('object|refcount', 3, ['readonly'], [2, 2, 1], ['keyspace', 'read', 'slow'], (ctx, args) => {
        if (objectLookup(ctx, args) !== undefined) ctx.out.integer(1);
        return undefined;
      }),
      command('object|idletime', 3, ['readonly'], [2, 2, 1], ['keyspace', 'read', 'slow'], (ctx, args) => {
        if (objectLookup(ctx, args) !== undefined) ctx.out.integer(0);
        return undefined;
      }),
      command('object|freq', 3, ['readonly'], [2, 2, 1], ['keyspace', 'read', 'slow'], (ctx, args) => {
        if (objectLookup(ctx, args) === undefined) return undefined;
        ctx.out.error(
          'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
        );
        return undefined;
      }),
      command(
        'object|help',
        2,
        ['loading', 'stale'],
        [0, 0, 0],
        ['keyspace', 'slow'],
        helpHandler(OBJECT_HELP),
      ),
    ]),
  }),
];

export type { KeyspaceDatabase, ValueType };
