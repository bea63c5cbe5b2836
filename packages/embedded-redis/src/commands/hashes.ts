import { command, ERR_SYNTAX, lowerArg, parseInteger, tryDouble, tryInt64 } from '../args.js';
import { globMatch } from '../glob.js';
import {
  type CommandContext,
  type CommandFamily,
  type CommandHandler,
  type Entry,
  ReplyError,
} from '../types.js';
import { CursorTable, parseCursor, parseScanOptions } from './keys.js';
import { addFloats } from './strings.js';

type Hash = Map<string, Buffer>;

function keyOf(arg: Buffer | undefined): string {
  return (arg as Buffer).toString('latin1');
}

function getHash(ctx: CommandContext, key: string): Hash | undefined {
  return ctx.db.getTyped(key, 'hash')?.value as Hash | undefined;
}

/** The hash at `key`, created empty (not yet stored) when missing. */
function hashForWrite(ctx: CommandContext, key: string): { hash: Hash; created: boolean } {
  const existing = getHash(ctx, key);
  if (existing !== undefined) return { hash: existing, created: false };
  return { hash: new Map(), created: true };
}

function save(ctx: CommandContext, key: string, hash: Hash, created: boolean): void {
  if (created) ctx.db.set(key, { type: 'hash', value: hash, expiresAt: undefined } satisfies Entry);
  else ctx.db.touch(key);
}

function hsetGeneric(name: string, replyOk: boolean): CommandHandler {
  return (ctx, args) => {
    if (args.length % 2 !== 0) throw new ReplyError(`ERR wrong number of arguments for '${name}' command`);
    const key = keyOf(args[1]);
    const existing = getHash(ctx, key);
    const hash: Hash = existing ?? new Map();
    const sizeBefore = hash.size;
    for (let i = 2; i < args.length; i += 2) hash.set(keyOf(args[i]), Buffer.from(args[i + 1] as Buffer));
    const added = hash.size - sizeBefore;
    save(ctx, key, hash, existing === undefined);
    if (replyOk) ctx.out.simple('OK');
    else ctx.out.integer(added);
    return undefined;
  };
}

const hsetnx: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  const { hash, created } = hashForWrite(ctx, key);
  const field = keyOf(args[2]);
  if (hash.has(field)) {
    ctx.out.integer(0);
    return undefined;
  }
  hash.set(field, Buffer.from(args[3] as Buffer));
  save(ctx, key, hash, created);
  ctx.out.integer(1);
  return undefined;
};

const hget: CommandHandler = (ctx, args) => {
  const value = getHash(ctx, keyOf(args[1]))?.get(keyOf(args[2]));
  if (value === undefined) ctx.out.nullBulk();
  else ctx.out.bulk(value);
  return undefined;
};

const hmget: CommandHandler = (ctx, args) => {
  const hash = getHash(ctx, keyOf(args[1]));
  ctx.out.array(args.length - 2);
  for (let i = 2; i < args.length; i++) {
    const value = hash?.get(keyOf(args[i]));
    if (value === undefined) ctx.out.nullBulk();
    else ctx.out.bulk(value);
  }
  return undefined;
};

const hdel: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  const hash = getHash(ctx, key);
  let removed = 0;
  if (hash !== undefined) {
    for (let i = 2; i < args.length; i++) if (hash.delete(keyOf(args[i]))) removed++;
    if (hash.size === 0) ctx.db.delete(key);
    else if (removed > 0) ctx.db.touch(key);
  }
  ctx.out.integer(removed);
  return undefined;
};

const hlen: CommandHandler = (ctx, args) => {
  ctx.out.integer(getHash(ctx, keyOf(args[1]))?.size ?? 0);
  return undefined;
};

const hexists: CommandHandler = (ctx, args) => {
  ctx.out.integer(getHash(ctx, keyOf(args[1]))?.has(keyOf(args[2])) ? 1 : 0);
  return undefined;
};

const hstrlen: CommandHandler = (ctx, args) => {
  ctx.out.integer(getHash(ctx, keyOf(args[1]))?.get(keyOf(args[2]))?.length ?? 0);
  return undefined;
};

const hgetall: CommandHandler = (ctx, args) => {
  const hash = getHash(ctx, keyOf(args[1]));
  ctx.out.map(hash?.size ?? 0);
  if (hash === undefined) return undefined;
  for (const [field, value] of hash) {
    ctx.out.bulk(Buffer.from(field, 'latin1'));
    ctx.out.bulk(value);
  }
  return undefined;
};

const hkeys: CommandHandler = (ctx, args) => {
  const hash = getHash(ctx, keyOf(args[1]));
  ctx.out.array(hash?.size ?? 0);
  if (hash !== undefined) for (const field of hash.keys()) ctx.out.bulk(Buffer.from(field, 'latin1'));
  return undefined;
};

const hvals: CommandHandler = (ctx, args) => {
  const hash = getHash(ctx, keyOf(args[1]));
  ctx.out.array(hash?.size ?? 0);
  if (hash !== undefined) for (const value of hash.values()) ctx.out.bulk(value);
  return undefined;
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const hincrby: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  const deltaArg = args[3] as Buffer;
  const delta = tryInt64(deltaArg);
  if (delta === undefined) throw new ReplyError('ERR value is not an integer or out of range');
  const { hash, created } = hashForWrite(ctx, key);
  const field = keyOf(args[2]);
  const old = hash.get(field);
  let current = 0n;
  if (old !== undefined) {
    const parsed = tryInt64(old);
    if (parsed === undefined) throw new ReplyError('ERR hash value is not an integer');
    current = parsed;
  }
  const result = current + delta;
  if (result < INT64_MIN || result > INT64_MAX)
    throw new ReplyError('ERR increment or decrement would overflow');
  hash.set(field, Buffer.from(result.toString(), 'latin1'));
  save(ctx, key, hash, created);
  const n = Number(result);
  ctx.out.integer(Number.isSafeInteger(n) ? n : result);
  return undefined;
};

const hincrbyfloat: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  const incrementArg = args[3] as Buffer;
  const increment = tryDouble(incrementArg);
  if (increment === undefined) throw new ReplyError('ERR value is not a valid float');
  const { hash, created } = hashForWrite(ctx, key);
  const field = keyOf(args[2]);
  const old = hash.get(field);
  const current = old === undefined ? 0 : tryDouble(old);
  if (current === undefined) throw new ReplyError('ERR hash value is not a float');
  if (!Number.isFinite(current + increment))
    throw new ReplyError('ERR increment would produce NaN or Infinity');
  const text = addFloats(old === undefined ? '0' : old.toString('latin1'), incrementArg.toString('latin1'));
  if (text === undefined) throw new ReplyError('ERR increment would produce NaN or Infinity');
  const value = Buffer.from(text, 'latin1');
  hash.set(field, value);
  save(ctx, key, hash, created);
  ctx.out.bulk(value);
  return undefined;
};

const CURSORS = Symbol('hashes.hscan.cursors');
/** Hashes up to this size reply to HSCAN in one step, as Redis's listpack encoding does. */
const ONE_STEP_SCAN = 128;

const hscan: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  const cursor = parseCursor(args[2]);
  const { match, count } = parseScanOptions(args, 3, false);
  const hash = getHash(ctx, key);
  let fields: string[];
  let next = 0;
  if (hash === undefined) fields = [];
  else if (hash.size <= ONE_STEP_SCAN) fields = [...hash.keys()];
  else {
    const table = ctx.server.extension(CURSORS, () => new CursorTable<string>());
    const step = table.step(`${ctx.db.index}\u0000${key}`, cursor, () => hash.keys(), count);
    fields = step.items;
    next = step.cursor;
  }
  const pairs: [string, Buffer][] = [];
  for (const field of fields) {
    if (match !== undefined && !globMatch(match, field)) continue;
    const value = hash?.get(field);
    if (value !== undefined) pairs.push([field, value]);
  }
  ctx.out.array(2);
  ctx.out.bulk(String(next));
  ctx.out.array(pairs.length * 2);
  for (const [field, value] of pairs) {
    ctx.out.bulk(Buffer.from(field, 'latin1'));
    ctx.out.bulk(value);
  }
  return undefined;
};

function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

const hrandfield: CommandHandler = (ctx, args) => {
  const hash = getHash(ctx, keyOf(args[1]));
  if (args.length === 2) {
    if (hash === undefined || hash.size === 0) ctx.out.nullBulk();
    else ctx.out.bulk(Buffer.from([...hash.keys()][randomIndex(hash.size)] as string, 'latin1'));
    return undefined;
  }
  const count = parseInteger(args[2]);
  let withValues = false;
  if (args.length === 4 && lowerArg(args[3]) === 'withvalues') withValues = true;
  else if (args.length > 3) throw new ReplyError(ERR_SYNTAX);
  if (withValues && count < -Number.MAX_SAFE_INTEGER / 2) throw new ReplyError('ERR value is out of range');
  const entries = hash === undefined ? [] : [...hash.entries()];
  let picked: [string, Buffer][];
  if (entries.length === 0 || count === 0) picked = [];
  else if (count < 0)
    picked = Array.from({ length: -count }, () => entries[randomIndex(entries.length)] as [string, Buffer]);
  else if (count >= entries.length) picked = entries;
  else {
    for (let i = entries.length - 1; i > 0; i--) {
      const j = randomIndex(i + 1);
      [entries[i], entries[j]] = [entries[j] as [string, Buffer], entries[i] as [string, Buffer]];
    }
    picked = entries.slice(0, count);
  }
  const out = ctx.out;
  if (withValues && out.protocol === 3) {
    out.array(picked.length);
    for (const [field, value] of picked) {
      out.array(2);
      out.bulk(Buffer.from(field, 'latin1'));
      out.bulk(value);
    }
  } else {
    out.array(withValues ? picked.length * 2 : picked.length);
    for (const [field, value] of picked) {
      out.bulk(Buffer.from(field, 'latin1'));
      if (withValues) out.bulk(value);
    }
  }
  return undefined;
};

const W = ['write', 'denyoom', 'fast'];
const R = ['readonly', 'fast'];
const HWF = ['write', 'hash', 'fast'] as const;
const HRF = ['read', 'hash', 'fast'] as const;
const HRS = ['read', 'hash', 'slow'] as const;

/** The hash commands. */
export const commands: CommandFamily = [
  command('hset', -4, W, [1, 1, 1], HWF, hsetGeneric('hset', false)),
  command('hmset', -4, W, [1, 1, 1], HWF, hsetGeneric('hmset', true)),
  command('hsetnx', 4, W, [1, 1, 1], HWF, hsetnx),
  command('hget', 3, R, [1, 1, 1], HRF, hget),
  command('hmget', -3, R, [1, 1, 1], HRF, hmget),
  command('hdel', -3, ['write', 'fast'], [1, 1, 1], HWF, hdel),
  command('hlen', 2, R, [1, 1, 1], HRF, hlen),
  command('hexists', 3, R, [1, 1, 1], HRF, hexists),
  command('hstrlen', 3, R, [1, 1, 1], HRF, hstrlen),
  command('hgetall', 2, ['readonly'], [1, 1, 1], HRS, hgetall),
  command('hkeys', 2, ['readonly'], [1, 1, 1], HRS, hkeys),
  command('hvals', 2, ['readonly'], [1, 1, 1], HRS, hvals),
  command('hincrby', 4, W, [1, 1, 1], HWF, hincrby),
  command('hincrbyfloat', 4, W, [1, 1, 1], HWF, hincrbyfloat),
  command('hscan', -3, ['readonly'], [1, 1, 1], HRS, hscan),
  command('hrandfield', -2, ['readonly'], [1, 1, 1], HRS, hrandfield),
];
