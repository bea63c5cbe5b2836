import { List } from '../data/list.js';
import { parseDouble } from '../data/sorted-set.js';
import { type Stored, writeStored } from '../data/string.js';
import {
  type Block,
  type CommandCategory,
  type CommandContext,
  type CommandFamily,
  type CommandHandler,
  type CommandSpec,
  ReplyError,
  WrongTypeError,
} from '../types.js';

// ---------------------------------------------------------------------------------------------
// Argument helpers shared by the lists, sorted-sets and pubsub families (Redis 7.0's texts).

/** `ERR value is not an integer or out of range` */
export const NOT_AN_INTEGER = 'ERR value is not an integer or out of range';
/** `ERR syntax error` */
export const SYNTAX_ERROR = 'ERR syntax error';

const INTEGER = /^(?:0|-?[1-9][0-9]*)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A binary-string key, member or channel from an argument. */
export function str(arg: Buffer): string {
  return arg.toString('latin1');
}

/** Parses a 64-bit signed integer as Redis's string2ll does; undefined when it is not one. */
export function integerOf(arg: Buffer): number | undefined {
  if (arg.length === 0 || arg.length > 20) return undefined;
  const text = arg.toString('latin1');
  if (!INTEGER.test(text)) return undefined;
  if (text.length < 16) return Number(text);
  const big = BigInt(text);
  if (big < INT64_MIN || big > INT64_MAX) return undefined;
  return Number(big);
}

/** As `integerOf`, throwing `message` (default: not an integer) as the reply when it is not one. */
export function integerArg(arg: Buffer, message = NOT_AN_INTEGER): number {
  const value = integerOf(arg);
  if (value === undefined) throw new ReplyError(message);
  return value;
}

/** Case-insensitive keyword comparison. */
export function is(arg: Buffer | undefined, word: string): boolean {
  return arg !== undefined && arg.length === word.length && arg.toString('latin1').toLowerCase() === word;
}

/**
 * A blocking command's timeout in seconds, as Redis 7.0 reads it: a float, truncated to whole
 * milliseconds; 0 blocks forever.
 */
export function timeoutArg(arg: Buffer, now: number): number {
  const seconds = parseDouble(arg.toString('latin1'));
  if (seconds === undefined) throw new ReplyError('ERR timeout is not a float or out of range');
  const ms = Math.trunc(seconds * 1000);
  // Redis casts to a 64-bit integer: from 2^63 ms on that wraps negative.
  if (ms < 0 || ms >= 2 ** 63) throw new ReplyError('ERR timeout is negative');
  if (ms > 0 && ms > 2 ** 63 - 1 - now) throw new ReplyError('ERR timeout is out of range');
  return ms === 0 ? 0 : ms;
}

/** `ERR wrong number of arguments for '<name>' command` */
export function arityError(name: string): ReplyError {
  return new ReplyError(`ERR wrong number of arguments for '${name}' command`);
}

/**
 * Wraps a handler so that a `ReplyError` or `WrongTypeError` thrown before it wrote anything
 * becomes the error reply (the server does the same; this keeps the family self-contained).
 */
export function guarded(handler: CommandHandler): CommandHandler {
  return (ctx, args) => {
    try {
      return handler(ctx, args);
    } catch (error) {
      if (error instanceof ReplyError || error instanceof WrongTypeError) {
        ctx.out.error(error.message);
        return undefined;
      }
      throw error;
    }
  };
}

/** Builds a CommandSpec. */
export function spec(
  name: string,
  arity: number,
  flags: readonly string[],
  keys: [number, number, number],
  categories: readonly CommandCategory[],
  handler: CommandHandler,
  keyPositions?: (args: Buffer[]) => number[],
): CommandSpec {
  const base = {
    name,
    arity,
    flags,
    firstKey: keys[0],
    lastKey: keys[1],
    step: keys[2],
    categories,
    handler: guarded(handler),
  };
  return keyPositions === undefined ? base : { ...base, keys: keyPositions };
}

/** A Block whose `retry` runs `attempt` (true = served) and whose timeout writes `onTimeout`. */
export function block(
  keys: readonly string[],
  timeoutMs: number,
  attempt: (ctx: CommandContext) => boolean,
  onTimeout: (ctx: CommandContext) => void,
): Block {
  return {
    kind: 'block',
    // A key named twice (BLPOP k k 0) is waited on once.
    keys: [...new Set(keys)],
    timeoutMs,
    retry: (ctx) => {
      try {
        return attempt(ctx);
      } catch (error) {
        if (error instanceof ReplyError || error instanceof WrongTypeError) {
          ctx.out.error(error.message);
          return true;
        }
        throw error;
      }
    },
    timeout: onTimeout,
  };
}

// ---------------------------------------------------------------------------------------------
// List access.

type End = 'left' | 'right';

function listOf(ctx: CommandContext, key: string): List | undefined {
  return ctx.db.getTyped(key, 'list')?.value as List | undefined;
}

/** The live list at `key` when it is a list, else undefined (no error): for blocked retries. */
function listIfList(ctx: CommandContext, key: string): List | undefined {
  const entry = ctx.db.get(key);
  return entry?.type === 'list' ? (entry.value as List) : undefined;
}

function createList(ctx: CommandContext, key: string): List {
  const list = new List();
  ctx.db.set(key, { type: 'list', value: list, expiresAt: undefined });
  return list;
}

function pop(list: List, end: End): Buffer {
  return (end === 'left' ? list.popLeft() : list.popRight()) as Buffer;
}

/** As `pop`, in the list's stored form (for replies). */
function popItem(list: List, end: End): Stored {
  return (end === 'left' ? list.popLeftItem() : list.popRightItem()) as Stored;
}

/** After elements were taken from `key`'s list: deletes an emptied key, else marks it modified. */
function afterPop(ctx: CommandContext, key: string, list: List): void {
  if (list.length === 0) ctx.db.delete(key);
  else ctx.db.touch(key);
}

function endArg(arg: Buffer): End {
  if (is(arg, 'left')) return 'left';
  if (is(arg, 'right')) return 'right';
  throw new ReplyError(SYNTAX_ERROR);
}

/** Normalises a Redis start/stop pair against `length`; undefined when the range is empty. */
function clampRange(start: number, stop: number, length: number): [number, number] | undefined {
  let s = start < 0 ? start + length : start;
  let e = stop < 0 ? stop + length : stop;
  if (s < 0) s = 0;
  if (s > e || s >= length) return undefined;
  if (e >= length) e = length - 1;
  return [s, e];
}

// ---------------------------------------------------------------------------------------------
// Commands.

function pushCommand(end: End, onlyIfExists: boolean): CommandHandler {
  return (ctx, args) => {
    const key = str(args[1] as Buffer);
    let list = listOf(ctx, key);
    if (list === undefined) {
      if (onlyIfExists) {
        ctx.out.integer(0);
        return undefined;
      }
      list = createList(ctx, key);
    }
    for (let i = 2; i < args.length; i++) {
      if (end === 'left') list.pushLeft(args[i] as Buffer);
      else list.pushRight(args[i] as Buffer);
    }
    ctx.db.touch(key, true);
    ctx.out.integer(list.length);
    return undefined;
  };
}

function popCommand(end: End): CommandHandler {
  return (ctx, args) => {
    if (args.length > 3) throw arityError(end === 'left' ? 'lpop' : 'rpop');
    let count: number | undefined;
    if (args.length === 3) {
      const value = integerOf(args[2] as Buffer);
      if (value === undefined || value < 0)
        throw new ReplyError('ERR value is out of range, must be positive');
      count = value;
    }
    const key = str(args[1] as Buffer);
    const list = listOf(ctx, key);
    if (list === undefined) {
      if (count === undefined) ctx.out.nullBulk();
      else ctx.out.nullArray();
      return undefined;
    }
    if (count === undefined) {
      writeStored(ctx.out, popItem(list, end));
    } else {
      const n = Math.min(count, list.length);
      ctx.out.array(n);
      for (let i = 0; i < n; i++) writeStored(ctx.out, popItem(list, end));
      if (n === 0) return undefined;
    }
    afterPop(ctx, key, list);
    return undefined;
  };
}

const llen: CommandHandler = (ctx, args) => {
  ctx.out.integer(listOf(ctx, str(args[1] as Buffer))?.length ?? 0);
  return undefined;
};

const lrange: CommandHandler = (ctx, args) => {
  const start = integerArg(args[2] as Buffer);
  const stop = integerArg(args[3] as Buffer);
  const list = listOf(ctx, str(args[1] as Buffer));
  const range = list === undefined ? undefined : clampRange(start, stop, list.length);
  if (list === undefined || range === undefined) {
    ctx.out.array(0);
    return undefined;
  }
  ctx.out.array(range[1] - range[0] + 1);
  for (let i = range[0]; i <= range[1]; i++) writeStored(ctx.out, list.itemAt(i) as Stored);
  return undefined;
};

const lindex: CommandHandler = (ctx, args) => {
  const index = integerArg(args[2] as Buffer);
  const list = listOf(ctx, str(args[1] as Buffer));
  const value = list?.at(index < 0 ? index + list.length : index);
  if (value === undefined) ctx.out.nullBulk();
  else ctx.out.bulk(value);
  return undefined;
};

const lset: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const index = integerArg(args[2] as Buffer);
  const list = listOf(ctx, key);
  if (list === undefined) throw new ReplyError('ERR no such key');
  const at = index < 0 ? index + list.length : index;
  if (at < 0 || at >= list.length) throw new ReplyError('ERR index out of range');
  list.setAt(at, args[3] as Buffer);
  ctx.db.touch(key);
  ctx.out.simple('OK');
  return undefined;
};

const linsert: CommandHandler = (ctx, args) => {
  let after: boolean;
  if (is(args[2], 'after')) after = true;
  else if (is(args[2], 'before')) after = false;
  else throw new ReplyError(SYNTAX_ERROR);
  const key = str(args[1] as Buffer);
  const list = listOf(ctx, key);
  if (list === undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  const at = list.indexOf(args[3] as Buffer);
  if (at < 0) {
    ctx.out.integer(-1);
    return undefined;
  }
  list.insertAt(after ? at + 1 : at, args[4] as Buffer);
  ctx.db.touch(key, true);
  ctx.out.integer(list.length);
  return undefined;
};

const lrem: CommandHandler = (ctx, args) => {
  const count = integerArg(args[2] as Buffer);
  const key = str(args[1] as Buffer);
  const list = listOf(ctx, key);
  if (list === undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  const removed = list.remove(args[3] as Buffer, count);
  if (removed > 0) afterPop(ctx, key, list);
  ctx.out.integer(removed);
  return undefined;
};

const ltrim: CommandHandler = (ctx, args) => {
  const start = integerArg(args[2] as Buffer);
  const stop = integerArg(args[3] as Buffer);
  const key = str(args[1] as Buffer);
  const list = listOf(ctx, key);
  if (list !== undefined) {
    const range = clampRange(start, stop, list.length);
    if (range === undefined) {
      ctx.db.delete(key);
    } else if (range[0] > 0 || range[1] < list.length - 1) {
      list.keep(range[0], range[1]);
      ctx.db.touch(key);
    }
  }
  ctx.out.simple('OK');
  return undefined;
};

const lpos: CommandHandler = (ctx, args) => {
  let rank = 1;
  let count: number | undefined;
  let maxlen = 0;
  for (let i = 3; i < args.length; i++) {
    const value = args[i + 1];
    if (value === undefined) throw new ReplyError(SYNTAX_ERROR);
    if (is(args[i], 'rank')) {
      rank = integerArg(value);
      if (rank === 0) {
        throw new ReplyError(
          "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        );
      }
    } else if (is(args[i], 'count')) {
      count = integerArg(value);
      if (count < 0) throw new ReplyError("ERR COUNT can't be negative");
    } else if (is(args[i], 'maxlen')) {
      maxlen = integerArg(value);
      if (maxlen < 0) throw new ReplyError("ERR MAXLEN can't be negative");
    } else {
      throw new ReplyError(SYNTAX_ERROR);
    }
    i++;
  }
  // Redis negates RANK in 64 bits: -2^63 stays negative and then acts as -1.
  if (rank === -(2 ** 63)) rank = -1;
  const list = listOf(ctx, str(args[1] as Buffer));
  const element = args[2] as Buffer;
  const matches: number[] = [];
  if (list !== undefined) {
    const wanted = count === undefined ? 1 : count === 0 ? Number.POSITIVE_INFINITY : count;
    const scan = maxlen === 0 ? list.length : Math.min(maxlen, list.length);
    let skip = Math.abs(rank) - 1;
    for (let n = 0; n < scan && matches.length < wanted; n++) {
      const index = rank > 0 ? n : list.length - 1 - n;
      if (!(list.at(index) as Buffer).equals(element)) continue;
      if (skip > 0) skip--;
      else matches.push(index);
    }
  }
  if (count === undefined) {
    if (matches.length === 0) ctx.out.nullBulk();
    else ctx.out.integer(matches[0] as number);
  } else {
    ctx.out.array(matches.length);
    for (const index of matches) ctx.out.integer(index);
  }
  return undefined;
};

/**
 * Moves one element from `source`'s `from` end to `destination`'s `to` end. Returns the element,
 * or undefined when the source is empty. Throws WRONGTYPE (before changing anything) when the
 * destination is not a list.
 */
function move(
  ctx: CommandContext,
  source: string,
  list: List,
  destination: string,
  from: End,
  to: End,
): Buffer {
  let target = source === destination ? list : listOf(ctx, destination);
  const value = pop(list, from);
  if (target === undefined) target = createList(ctx, destination);
  if (to === 'left') target.pushLeft(value);
  else target.pushRight(value);
  if (source !== destination) afterPop(ctx, source, list);
  ctx.db.touch(destination, true);
  return value;
}

function lmoveWith(ctx: CommandContext, source: string, destination: string, from: End, to: End): void {
  const list = listOf(ctx, source);
  if (list === undefined || list.length === 0) {
    ctx.out.nullBulk();
    return;
  }
  if (source !== destination) listOf(ctx, destination); // WRONGTYPE before anything moves
  ctx.out.bulk(move(ctx, source, list, destination, from, to));
}

const lmove: CommandHandler = (ctx, args) => {
  const from = endArg(args[3] as Buffer);
  const to = endArg(args[4] as Buffer);
  lmoveWith(ctx, str(args[1] as Buffer), str(args[2] as Buffer), from, to);
  return undefined;
};

const rpoplpush: CommandHandler = (ctx, args) => {
  lmoveWith(ctx, str(args[1] as Buffer), str(args[2] as Buffer), 'right', 'left');
  return undefined;
};

function blockingMove(
  ctx: CommandContext,
  source: string,
  destination: string,
  from: End,
  to: End,
  timeoutMs: number,
): Block | undefined {
  const list = listOf(ctx, source);
  if (list !== undefined && list.length > 0) {
    if (source !== destination) listOf(ctx, destination);
    ctx.out.bulk(move(ctx, source, list, destination, from, to));
    return undefined;
  }
  if (ctx.noBlock) {
    ctx.out.nullBulk();
    return undefined;
  }
  return block(
    [source],
    timeoutMs,
    (c) => {
      const ready = listIfList(c, source);
      if (ready === undefined || ready.length === 0) return false;
      if (source !== destination) listOf(c, destination);
      c.out.bulk(move(c, source, ready, destination, from, to));
      return true;
    },
    // Redis 7.0 answers every timed-out blocking list command with a null array, BLMOVE included.
    (c) => c.out.nullArray(),
  );
}

const blmove: CommandHandler = (ctx, args) => {
  const from = endArg(args[3] as Buffer);
  const to = endArg(args[4] as Buffer);
  const timeoutMs = timeoutArg(args[5] as Buffer, ctx.now());
  return blockingMove(ctx, str(args[1] as Buffer), str(args[2] as Buffer), from, to, timeoutMs);
};

const brpoplpush: CommandHandler = (ctx, args) => {
  const timeoutMs = timeoutArg(args[3] as Buffer, ctx.now());
  return blockingMove(ctx, str(args[1] as Buffer), str(args[2] as Buffer), 'right', 'left', timeoutMs);
};

function blockingPop(end: End): CommandHandler {
  return (ctx, args) => {
    const timeoutMs = timeoutArg(args[args.length - 1] as Buffer, ctx.now());
    const keys = args.slice(1, -1).map(str);
    for (const key of keys) {
      const list = listOf(ctx, key);
      if (list !== undefined && list.length > 0) {
        ctx.out.array(2);
        ctx.out.bulk(args[keys.indexOf(key) + 1] as Buffer);
        writeStored(ctx.out, popItem(list, end));
        afterPop(ctx, key, list);
        return undefined;
      }
    }
    if (ctx.noBlock) {
      ctx.out.nullArray();
      return undefined;
    }
    return block(
      keys,
      timeoutMs,
      (c) => {
        for (const key of keys) {
          const list = listIfList(c, key);
          if (list === undefined || list.length === 0) continue;
          c.out.array(2);
          c.out.bulk(Buffer.from(key, 'latin1'));
          writeStored(c.out, popItem(list, end));
          afterPop(c, key, list);
          return true;
        }
        return false;
      },
      (c) => c.out.nullArray(),
    );
  };
}

interface MultiPop {
  keys: string[];
  end: End;
  count: number;
}

/** Parses `numkeys key [key …] LEFT|RIGHT [COUNT n]` from `args[at]` on (LMPOP, BLMPOP). */
function parseMultiPop(
  args: Buffer[],
  at: number,
  ends: [string, string],
): { keys: string[]; end: string; count: number } {
  const numkeys = integerOf(args[at] as Buffer);
  if (numkeys === undefined || numkeys <= 0) throw new ReplyError('ERR numkeys should be greater than 0');
  const whereAt = at + 1 + numkeys;
  if (numkeys > args.length - at - 1 || whereAt >= args.length) throw new ReplyError(SYNTAX_ERROR);
  const keys = args.slice(at + 1, whereAt).map(str);
  const where = args[whereAt] as Buffer;
  const end = is(where, ends[0]) ? ends[0] : is(where, ends[1]) ? ends[1] : undefined;
  if (end === undefined) throw new ReplyError(SYNTAX_ERROR);
  let count = 1;
  let counted = false;
  for (let i = whereAt + 1; i < args.length; i++) {
    if (is(args[i], 'count') && !counted && args[i + 1] !== undefined) {
      const value = integerOf(args[i + 1] as Buffer);
      if (value === undefined || value <= 0) throw new ReplyError('ERR count should be greater than 0');
      count = value;
      counted = true;
      i++;
    } else {
      throw new ReplyError(SYNTAX_ERROR);
    }
  }
  return { keys, end, count };
}

function multiPopFrom(ctx: CommandContext, request: MultiPop, key: string, list: List): void {
  const n = Math.min(request.count, list.length);
  ctx.out.array(2);
  ctx.out.bulk(Buffer.from(key, 'latin1'));
  ctx.out.array(n);
  for (let i = 0; i < n; i++) writeStored(ctx.out, popItem(list, request.end));
  afterPop(ctx, key, list);
}

/** Key positions of `numkeys key …` starting at `args[at]`. */
export function numkeysPositions(at: number): (args: Buffer[]) => number[] {
  return (args) => {
    const n = integerOf(args[at] as Buffer) ?? 0;
    const out: number[] = [];
    for (let i = 0; i < n && at + 1 + i < args.length; i++) out.push(at + 1 + i);
    return out;
  };
}

const lmpop: CommandHandler = (ctx, args) => {
  const parsed = parseMultiPop(args, 1, ['left', 'right']);
  const request: MultiPop = { keys: parsed.keys, end: parsed.end as End, count: parsed.count };
  for (const key of request.keys) {
    const list = listOf(ctx, key);
    if (list !== undefined && list.length > 0) {
      multiPopFrom(ctx, request, key, list);
      return undefined;
    }
  }
  ctx.out.nullArray();
  return undefined;
};

const blmpop: CommandHandler = (ctx, args) => {
  const timeoutMs = timeoutArg(args[1] as Buffer, ctx.now());
  const parsed = parseMultiPop(args, 2, ['left', 'right']);
  const request: MultiPop = { keys: parsed.keys, end: parsed.end as End, count: parsed.count };
  for (const key of request.keys) {
    const list = listOf(ctx, key);
    if (list !== undefined && list.length > 0) {
      multiPopFrom(ctx, request, key, list);
      return undefined;
    }
  }
  if (ctx.noBlock) {
    ctx.out.nullArray();
    return undefined;
  }
  return block(
    request.keys,
    timeoutMs,
    (c) => {
      for (const key of request.keys) {
        const list = listIfList(c, key);
        if (list === undefined || list.length === 0) continue;
        multiPopFrom(c, request, key, list);
        return true;
      }
      return false;
    },
    (c) => c.out.nullArray(),
  );
};

/** The list commands, with Redis 7.0's replies and blocking semantics. */
export const commands: CommandFamily = [
  spec(
    'lpush',
    -3,
    ['write', 'denyoom', 'fast'],
    [1, 1, 1],
    ['write', 'list', 'fast'],
    pushCommand('left', false),
  ),
  spec(
    'rpush',
    -3,
    ['write', 'denyoom', 'fast'],
    [1, 1, 1],
    ['write', 'list', 'fast'],
    pushCommand('right', false),
  ),
  spec(
    'lpushx',
    -3,
    ['write', 'denyoom', 'fast'],
    [1, 1, 1],
    ['write', 'list', 'fast'],
    pushCommand('left', true),
  ),
  spec(
    'rpushx',
    -3,
    ['write', 'denyoom', 'fast'],
    [1, 1, 1],
    ['write', 'list', 'fast'],
    pushCommand('right', true),
  ),
  spec('lpop', -2, ['write', 'fast'], [1, 1, 1], ['write', 'list', 'fast'], popCommand('left')),
  spec('rpop', -2, ['write', 'fast'], [1, 1, 1], ['write', 'list', 'fast'], popCommand('right')),
  spec('llen', 2, ['readonly', 'fast'], [1, 1, 1], ['read', 'list', 'fast'], llen),
  spec('lrange', 4, ['readonly'], [1, 1, 1], ['read', 'list', 'slow'], lrange),
  spec('lindex', 3, ['readonly'], [1, 1, 1], ['read', 'list', 'slow'], lindex),
  spec('lset', 4, ['write', 'denyoom'], [1, 1, 1], ['write', 'list', 'slow'], lset),
  spec('linsert', 5, ['write', 'denyoom'], [1, 1, 1], ['write', 'list', 'slow'], linsert),
  spec('lrem', 4, ['write'], [1, 1, 1], ['write', 'list', 'slow'], lrem),
  spec('ltrim', 4, ['write'], [1, 1, 1], ['write', 'list', 'slow'], ltrim),
  spec('lpos', -3, ['readonly'], [1, 1, 1], ['read', 'list', 'slow'], lpos),
  spec('lmove', 5, ['write', 'denyoom'], [1, 2, 1], ['write', 'list', 'slow'], lmove),
  spec('rpoplpush', 3, ['write', 'denyoom'], [1, 2, 1], ['write', 'list', 'slow'], rpoplpush),
  spec(
    'lmpop',
    -4,
    ['write', 'movablekeys'],
    [0, 0, 0],
    ['write', 'list', 'slow'],
    lmpop,
    numkeysPositions(1),
  ),
  spec(
    'blpop',
    -3,
    ['write', 'noscript', 'blocking'],
    [1, -2, 1],
    ['write', 'list', 'slow', 'blocking'],
    blockingPop('left'),
  ),
  spec(
    'brpop',
    -3,
    ['write', 'noscript', 'blocking'],
    [1, -2, 1],
    ['write', 'list', 'slow', 'blocking'],
    blockingPop('right'),
  ),
  spec(
    'blmove',
    6,
    ['write', 'denyoom', 'noscript', 'blocking'],
    [1, 2, 1],
    ['write', 'list', 'slow', 'blocking'],
    blmove,
  ),
  spec(
    'brpoplpush',
    4,
    ['write', 'denyoom', 'noscript', 'blocking'],
    [1, 2, 1],
    ['write', 'list', 'slow', 'blocking'],
    brpoplpush,
  ),
  spec(
    'blmpop',
    -5,
    ['write', 'blocking', 'movablekeys'],
    [0, 0, 0],
    ['write', 'list', 'slow', 'blocking'],
    blmpop,
    numkeysPositions(2),
  ),
];
