import {
  formatScore,
  type LexRange,
  parseDouble,
  parseLenientDouble,
  type ScoredMember,
  type ScoreRange,
  SortedSet,
} from '../data/sorted-set.js';
import { globMatch } from '../glob.js';
import {
  type Block,
  type CommandContext,
  type CommandFamily,
  type CommandHandler,
  ReplyError,
  type ReplyWriter,
  WrongTypeError,
} from '../types.js';
import {
  block,
  integerArg,
  integerOf,
  is,
  NOT_AN_INTEGER,
  numkeysPositions,
  SYNTAX_ERROR,
  spec,
  str,
  timeoutArg,
} from './lists.js';

const NOT_A_FLOAT = 'ERR value is not a valid float';
const SCORE_RANGE_ERROR = 'ERR min or max is not a float';
const LEX_RANGE_ERROR = 'ERR min or max not valid string range item';

function zsetOf(ctx: CommandContext, key: string): SortedSet | undefined {
  return ctx.db.getTyped(key, 'zset')?.value as SortedSet | undefined;
}

function zsetIfZset(ctx: CommandContext, key: string): SortedSet | undefined {
  const entry = ctx.db.get(key);
  return entry?.type === 'zset' ? (entry.value as SortedSet) : undefined;
}

function createZset(ctx: CommandContext, key: string): SortedSet {
  const zset = new SortedSet();
  ctx.db.set(key, { type: 'zset', value: zset, expiresAt: undefined });
  return zset;
}

/** After members were removed: deletes an emptied key, else marks it modified. */
function afterRemove(ctx: CommandContext, key: string, zset: SortedSet): void {
  if (zset.size === 0) ctx.db.delete(key);
  else ctx.db.touch(key);
}

/** Stores `items` at `key` (replacing whatever was there), or deletes it when empty. */
function store(ctx: CommandContext, key: string, items: Iterable<ScoredMember>): number {
  const zset = new SortedSet();
  for (const { member, score } of items) zset.set(member, score);
  if (zset.size === 0) ctx.db.delete(key);
  else {
    ctx.db.set(key, { type: 'zset', value: zset, expiresAt: undefined });
    ctx.db.touch(key, true);
  }
  return zset.size;
}

/** CORE's socket writer can encode a binary string directly, without a Buffer per member. */
interface Latin1Writer extends ReplyWriter {
  bulkLatin1(value: string): void;
}

function bulkMember(out: ReplyWriter, member: string): void {
  if (typeof (out as Partial<Latin1Writer>).bulkLatin1 === 'function')
    (out as Latin1Writer).bulkLatin1(member);
  else out.bulk(Buffer.from(member, 'latin1'));
}

/** Writes members, with scores as Redis 7.0 does: flat pairs in RESP2, [member, score] pairs in RESP3. */
function writeMembers(out: ReplyWriter, items: readonly ScoredMember[], withScores: boolean): void {
  if (!withScores) {
    out.array(items.length);
    for (const item of items) bulkMember(out, item.member);
    return;
  }
  if (out.protocol === 3) {
    out.array(items.length);
    for (const item of items) {
      out.array(2);
      bulkMember(out, item.member);
      out.double(item.score);
    }
    return;
  }
  out.array(items.length * 2);
  for (const item of items) {
    bulkMember(out, item.member);
    out.double(item.score);
  }
}

function scoreArg(arg: Buffer, message = NOT_A_FLOAT): number {
  const value = parseDouble(arg.toString('latin1'));
  if (value === undefined) throw new ReplyError(message);
  return value;
}

function scoreBound(arg: Buffer): { value: number; exclusive: boolean } {
  const text = arg.toString('latin1');
  const exclusive = text.startsWith('(');
  const value = parseLenientDouble(exclusive ? text.slice(1) : text);
  if (value === undefined) throw new ReplyError(SCORE_RANGE_ERROR);
  return { value, exclusive };
}

function scoreRange(min: Buffer, max: Buffer): ScoreRange {
  const lo = scoreBound(min);
  const hi = scoreBound(max);
  return { min: lo.value, max: hi.value, minExclusive: lo.exclusive, maxExclusive: hi.exclusive };
}

function lexBound(arg: Buffer): { text: string; exclusive: boolean; kind: 'value' | 'neg' | 'pos' } {
  const text = arg.toString('latin1');
  if (text === '-') return { text: '', exclusive: false, kind: 'neg' };
  if (text === '+') return { text: '', exclusive: false, kind: 'pos' };
  if (text.startsWith('(')) return { text: text.slice(1), exclusive: true, kind: 'value' };
  if (text.startsWith('[')) return { text: text.slice(1), exclusive: false, kind: 'value' };
  throw new ReplyError(LEX_RANGE_ERROR);
}

function lexRange(min: Buffer, max: Buffer): LexRange {
  const lo = lexBound(min);
  const hi = lexBound(max);
  return {
    min: lo.text,
    max: hi.text,
    minExclusive: lo.exclusive,
    maxExclusive: hi.exclusive,
    minKind: lo.kind,
    maxKind: hi.kind,
  };
}

function clampRanks(start: number, stop: number, length: number): [number, number] | undefined {
  let s = start < 0 ? start + length : start;
  let e = stop < 0 ? stop + length : stop;
  if (s < 0) s = 0;
  if (s > e || s >= length) return undefined;
  if (e >= length) e = length - 1;
  return [s, e];
}

// ---------------------------------------------------------------------------------------------
// ZADD / ZINCRBY

interface AddFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
  ch: boolean;
  incr: boolean;
}

function zaddWith(ctx: CommandContext, key: string, flags: AddFlags, pairs: Buffer[]): void {
  const { nx, xx, gt, lt, incr } = flags;
  if (pairs.length === 0 || pairs.length % 2 !== 0) throw new ReplyError(SYNTAX_ERROR);
  if (nx && xx) throw new ReplyError('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    throw new ReplyError('ERR GT, LT, and/or NX options at the same time are not compatible');
  }
  if (incr && pairs.length > 2)
    throw new ReplyError('ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) scores.push(scoreArg(pairs[i] as Buffer));
  let zset = zsetOf(ctx, key);
  let added = 0;
  let updated = 0;
  let processed = 0;
  let score = 0;
  if (zset === undefined && !xx) zset = createZset(ctx, key);
  if (zset !== undefined) {
    for (let i = 0; i < scores.length; i++) {
      const member = str(pairs[i * 2 + 1] as Buffer);
      score = scores[i] as number;
      const current = zset.score(member);
      if (current !== undefined) {
        if (nx) continue;
        if (incr) {
          score += current;
          if (Number.isNaN(score)) {
            if (zset.size === 0) ctx.db.delete(key);
            throw new ReplyError('ERR resulting score is not a number (NaN)');
          }
        }
        if ((lt && score >= current) || (gt && score <= current)) continue;
        processed++;
        if (score !== current) {
          zset.set(member, score);
          updated++;
        }
      } else if (!xx) {
        zset.set(member, score);
        added++;
        processed++;
      }
    }
    if (zset.size === 0) ctx.db.delete(key);
    else if (added > 0 || updated > 0) ctx.db.touch(key, true);
  }
  if (incr) {
    if (processed > 0) ctx.out.double(score);
    else ctx.out.nullBulk();
  } else {
    ctx.out.integer(flags.ch ? added + updated : added);
  }
}

const zadd: CommandHandler = (ctx, args) => {
  const flags: AddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false };
  let i = 2;
  for (; i < args.length; i++) {
    const word = (args[i] as Buffer).toString('latin1').toLowerCase();
    if (
      word === 'nx' ||
      word === 'xx' ||
      word === 'gt' ||
      word === 'lt' ||
      word === 'ch' ||
      word === 'incr'
    ) {
      flags[word] = true;
    } else {
      break;
    }
  }
  zaddWith(ctx, str(args[1] as Buffer), flags, args.slice(i));
  return undefined;
};

const zincrby: CommandHandler = (ctx, args) => {
  const flags: AddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: true };
  zaddWith(ctx, str(args[1] as Buffer), flags, [args[2] as Buffer, args[3] as Buffer]);
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// Point reads and removal

const zrem: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const zset = zsetOf(ctx, key);
  let removed = 0;
  if (zset !== undefined) {
    for (let i = 2; i < args.length; i++) if (zset.delete(str(args[i] as Buffer))) removed++;
    if (removed > 0) afterRemove(ctx, key, zset);
  }
  ctx.out.integer(removed);
  return undefined;
};

const zcard: CommandHandler = (ctx, args) => {
  ctx.out.integer(zsetOf(ctx, str(args[1] as Buffer))?.size ?? 0);
  return undefined;
};

const zscore: CommandHandler = (ctx, args) => {
  const score = zsetOf(ctx, str(args[1] as Buffer))?.score(str(args[2] as Buffer));
  if (score === undefined) ctx.out.nullBulk();
  else ctx.out.double(score);
  return undefined;
};

const zmscore: CommandHandler = (ctx, args) => {
  const zset = zsetOf(ctx, str(args[1] as Buffer));
  ctx.out.array(args.length - 2);
  for (let i = 2; i < args.length; i++) {
    const score = zset?.score(str(args[i] as Buffer));
    if (score === undefined) ctx.out.nullBulk();
    else ctx.out.double(score);
  }
  return undefined;
};

function rankCommand(reverse: boolean): CommandHandler {
  return (ctx, args) => {
    const zset = zsetOf(ctx, str(args[1] as Buffer));
    const rank = zset?.rank(str(args[2] as Buffer));
    if (zset === undefined || rank === undefined) ctx.out.nullBulk();
    else ctx.out.integer(reverse ? zset.size - 1 - rank : rank);
    return undefined;
  };
}

const zcount: CommandHandler = (ctx, args) => {
  const range = scoreRange(args[2] as Buffer, args[3] as Buffer);
  ctx.out.integer(zsetOf(ctx, str(args[1] as Buffer))?.countByScore(range) ?? 0);
  return undefined;
};

const zlexcount: CommandHandler = (ctx, args) => {
  const range = lexRange(args[2] as Buffer, args[3] as Buffer);
  ctx.out.integer(zsetOf(ctx, str(args[1] as Buffer))?.countByLex(range) ?? 0);
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// Ranges (ZRANGE and its legacy forms, ZRANGESTORE)

type RangeType = 'rank' | 'score' | 'lex';

interface RangeRequest {
  type: RangeType;
  reverse: boolean;
  withScores: boolean;
  offset: number;
  limit: number;
}

/**
 * Parses and runs a range the way Redis 7.0's zrangeGenericCommand does: options after
 * `args[at + 2]`, `type`/`reverse` preset by the legacy commands (which then refuse BYSCORE, REV…).
 */
function rangeQuery(
  ctx: CommandContext,
  args: Buffer[],
  keyAt: number,
  preset: { type?: RangeType; reverse?: boolean },
  storing: boolean,
): { items: ScoredMember[]; request: RangeRequest; found: boolean } {
  let type = preset.type;
  let reverse = preset.reverse;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  let limited = false;
  for (let j = keyAt + 3; j < args.length; j++) {
    const left = args.length - j - 1;
    const arg = args[j] as Buffer;
    if (!storing && is(arg, 'withscores')) {
      withScores = true;
    } else if (is(arg, 'limit') && left >= 2) {
      offset = integerArg(args[j + 1] as Buffer);
      limit = integerArg(args[j + 2] as Buffer);
      limited = true;
      j += 2;
    } else if (reverse === undefined && is(arg, 'rev')) {
      reverse = true;
    } else if (type === undefined && is(arg, 'bylex')) {
      type = 'lex';
    } else if (type === undefined && is(arg, 'byscore')) {
      type = 'score';
    } else {
      throw new ReplyError(SYNTAX_ERROR);
    }
  }
  const rangeType = type ?? 'rank';
  const rev = reverse ?? false;
  if (limited && rangeType === 'rank') {
    throw new ReplyError(
      'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
    );
  }
  if (withScores && rangeType === 'lex') {
    throw new ReplyError('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  }
  let minArg = args[keyAt + 1] as Buffer;
  let maxArg = args[keyAt + 2] as Buffer;
  if (rev && rangeType !== 'rank') [minArg, maxArg] = [maxArg, minArg];
  const request: RangeRequest = { type: rangeType, reverse: rev, withScores, offset, limit };
  let run: (zset: SortedSet) => ScoredMember[];
  if (rangeType === 'rank') {
    const start = integerArg(minArg);
    const stop = integerArg(maxArg);
    run = (zset) => {
      const ranks = clampRanks(start, stop, zset.size);
      return ranks === undefined ? [] : zset.rangeByRank(ranks[0], ranks[1], rev);
    };
  } else if (rangeType === 'score') {
    const range = scoreRange(minArg, maxArg);
    run = (zset) => (offset < 0 ? [] : zset.rangeByScore(range, rev, offset, limit));
  } else {
    const range = lexRange(minArg, maxArg);
    run = (zset) => (offset < 0 ? [] : zset.rangeByLex(range, rev, offset, limit));
  }
  const zset = zsetOf(ctx, str(args[keyAt] as Buffer));
  if (zset === undefined) return { items: [], request, found: false };
  return { items: run(zset), request, found: true };
}

function rangeCommand(preset: { type?: RangeType; reverse?: boolean }): CommandHandler {
  return (ctx, args) => {
    const { items, request } = rangeQuery(ctx, args, 1, preset, false);
    writeMembers(ctx.out, items, request.withScores);
    return undefined;
  };
}

const zrangestore: CommandHandler = (ctx, args) => {
  const { items } = rangeQuery(ctx, args, 2, {}, true);
  ctx.out.integer(store(ctx, str(args[1] as Buffer), items));
  return undefined;
};

function removeRange(kind: RangeType): CommandHandler {
  return (ctx, args) => {
    const key = str(args[1] as Buffer);
    let select: (zset: SortedSet) => ScoredMember[];
    if (kind === 'rank') {
      const start = integerArg(args[2] as Buffer);
      const stop = integerArg(args[3] as Buffer);
      select = (zset) => {
        const ranks = clampRanks(start, stop, zset.size);
        return ranks === undefined ? [] : zset.rangeByRank(ranks[0], ranks[1]);
      };
    } else if (kind === 'score') {
      const range = scoreRange(args[2] as Buffer, args[3] as Buffer);
      select = (zset) => zset.rangeByScore(range, false);
    } else {
      const range = lexRange(args[2] as Buffer, args[3] as Buffer);
      select = (zset) => zset.rangeByLex(range, false);
    }
    const zset = zsetOf(ctx, key);
    if (zset === undefined) {
      ctx.out.integer(0);
      return undefined;
    }
    const doomed = select(zset);
    for (const item of doomed) zset.delete(item.member);
    if (doomed.length > 0) afterRemove(ctx, key, zset);
    ctx.out.integer(doomed.length);
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// Pops, blocking pops

function popMembers(zset: SortedSet, max: boolean, count: number): ScoredMember[] {
  const out: ScoredMember[] = [];
  while (out.length < count) {
    const item = zset.first(max);
    if (item === undefined) break;
    zset.delete(item.member);
    out.push(item);
  }
  return out;
}

function popCommand(max: boolean): CommandHandler {
  return (ctx, args) => {
    if (args.length > 3) throw new ReplyError(SYNTAX_ERROR);
    let count: number | undefined;
    if (args.length === 3) {
      const value = integerOf(args[2] as Buffer);
      if (value === undefined || value < 0)
        throw new ReplyError('ERR value is out of range, must be positive');
      count = value;
    }
    const key = str(args[1] as Buffer);
    const zset = zsetOf(ctx, key);
    if (zset === undefined) {
      ctx.out.array(0);
      return undefined;
    }
    const items = popMembers(zset, max, count ?? 1);
    if (items.length > 0) afterRemove(ctx, key, zset);
    if (count === undefined) {
      // Without COUNT: a flat [member, score] in RESP2 and RESP3 alike.
      ctx.out.array(items.length * 2);
      for (const item of items) {
        bulkMember(ctx.out, item.member);
        ctx.out.double(item.score);
      }
    } else {
      writeMembers(ctx.out, items, true);
    }
    return undefined;
  };
}

function blockingPop(max: boolean): CommandHandler {
  return (ctx, args) => {
    const timeoutMs = timeoutArg(args[args.length - 1] as Buffer, ctx.now());
    const keys = args.slice(1, -1).map(str);
    const serve = (c: CommandContext, key: string, zset: SortedSet): void => {
      const [item] = popMembers(zset, max, 1) as [ScoredMember];
      afterRemove(c, key, zset);
      c.out.array(3);
      bulkMember(c.out, key);
      bulkMember(c.out, item.member);
      c.out.double(item.score);
    };
    for (const key of keys) {
      const zset = zsetOf(ctx, key);
      if (zset !== undefined && zset.size > 0) {
        serve(ctx, key, zset);
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
          const zset = zsetIfZset(c, key);
          if (zset === undefined || zset.size === 0) continue;
          serve(c, key, zset);
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
  max: boolean;
  count: number;
}

function parseMultiPop(args: Buffer[], at: number): MultiPop {
  const numkeys = integerOf(args[at] as Buffer);
  if (numkeys === undefined || numkeys <= 0) throw new ReplyError('ERR numkeys should be greater than 0');
  const whereAt = at + 1 + numkeys;
  if (numkeys > args.length - at - 1 || whereAt >= args.length) throw new ReplyError(SYNTAX_ERROR);
  const keys = args.slice(at + 1, whereAt).map(str);
  const where = args[whereAt] as Buffer;
  let max: boolean;
  if (is(where, 'min')) max = false;
  else if (is(where, 'max')) max = true;
  else throw new ReplyError(SYNTAX_ERROR);
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
  return { keys, max, count };
}

function multiPopFrom(ctx: CommandContext, request: MultiPop, key: string, zset: SortedSet): void {
  const items = popMembers(zset, request.max, request.count);
  afterRemove(ctx, key, zset);
  ctx.out.array(2);
  bulkMember(ctx.out, key);
  ctx.out.array(items.length);
  for (const item of items) {
    ctx.out.array(2);
    bulkMember(ctx.out, item.member);
    ctx.out.double(item.score);
  }
}

function multiPop(blocking: boolean): CommandHandler {
  return (ctx, args): Block | undefined => {
    const timeoutMs = blocking ? timeoutArg(args[1] as Buffer, ctx.now()) : 0;
    const request = parseMultiPop(args, blocking ? 2 : 1);
    for (const key of request.keys) {
      const zset = zsetOf(ctx, key);
      if (zset !== undefined && zset.size > 0) {
        multiPopFrom(ctx, request, key, zset);
        return undefined;
      }
    }
    if (!blocking || ctx.noBlock) {
      ctx.out.nullArray();
      return undefined;
    }
    return block(
      request.keys,
      timeoutMs,
      (c) => {
        for (const key of request.keys) {
          const zset = zsetIfZset(c, key);
          if (zset === undefined || zset.size === 0) continue;
          multiPopFrom(c, request, key, zset);
          return true;
        }
        return false;
      },
      (c) => c.out.nullArray(),
    );
  };
}

// ---------------------------------------------------------------------------------------------
// ZUNIONSTORE / ZINTERSTORE

type Aggregate = 'sum' | 'min' | 'max';

function aggregate(how: Aggregate, a: number, b: number): number {
  if (how === 'min') return Math.min(a, b);
  if (how === 'max') return Math.max(a, b);
  const sum = a + b;
  return Number.isNaN(sum) ? 0 : sum; // inf + -inf: Redis stores 0
}

/** The members and scores of a zset or a set (score 1) at `key`; undefined when missing. */
function scoredSource(ctx: CommandContext, key: string): Map<string, number> | undefined {
  const entry = ctx.db.get(key);
  if (entry === undefined) return undefined;
  if (entry.type === 'zset') {
    const out = new Map<string, number>();
    for (const { member, score } of (entry.value as SortedSet).entries()) out.set(member, score);
    return out;
  }
  if (entry.type === 'set' && entry.value instanceof Set) {
    const out = new Map<string, number>();
    for (const member of entry.value as Set<unknown>) out.set(String(member), 1);
    return out;
  }
  throw new WrongTypeError();
}

type SetOp = 'union' | 'inter' | 'diff';

interface Combined {
  result: Map<string, number>;
  withScores: boolean;
}

/**
 * ZUNION/ZINTER/ZDIFF and their STORE forms, parsed and computed as Redis 7.0's
 * zunionInterDiffGenericCommand: `numkeys` at `args[at]`, then WEIGHTS/AGGREGATE (not for diff)
 * and, when not storing, WITHSCORES.
 */
function combine(
  ctx: CommandContext,
  args: Buffer[],
  at: number,
  op: SetOp,
  name: string,
  storing: boolean,
): Combined {
  const numkeys = integerArg(args[at] as Buffer);
  if (numkeys < 1) throw new ReplyError(`ERR at least 1 input key is needed for '${name}' command`);
  if (numkeys > args.length - at - 1) throw new ReplyError(SYNTAX_ERROR);
  const keys = args.slice(at + 1, at + 1 + numkeys).map(str);
  const weights = keys.map(() => 1);
  let how: Aggregate = 'sum';
  let withScores = false;
  for (let i = at + 1 + numkeys; i < args.length; i++) {
    const left = args.length - i - 1;
    if (op !== 'diff' && is(args[i], 'weights') && left >= numkeys) {
      for (let w = 0; w < numkeys; w++) {
        weights[w] = scoreArg(args[i + 1 + w] as Buffer, 'ERR weight value is not a float');
      }
      i += numkeys;
    } else if (op !== 'diff' && is(args[i], 'aggregate') && left >= 1) {
      const value = (args[i + 1] as Buffer).toString('latin1').toLowerCase();
      if (value !== 'sum' && value !== 'min' && value !== 'max') throw new ReplyError(SYNTAX_ERROR);
      how = value;
      i++;
    } else if (!storing && is(args[i], 'withscores')) {
      withScores = true;
    } else {
      throw new ReplyError(SYNTAX_ERROR);
    }
  }
  const sources = keys.map((key) => scoredSource(ctx, key));
  const weigh = (score: number, weight: number): number => {
    const value = score * weight;
    return Number.isNaN(value) ? 0 : value;
  };
  const result = new Map<string, number>();
  if (op === 'union') {
    sources.forEach((source, s) => {
      if (source === undefined) return;
      for (const [member, score] of source) {
        const value = weigh(score, weights[s] as number);
        const current = result.get(member);
        result.set(member, current === undefined ? value : aggregate(how, current, value));
      }
    });
  } else if (op === 'diff') {
    const [first, ...rest] = sources;
    if (first !== undefined) {
      for (const [member, score] of first) {
        if (!rest.some((other) => other?.has(member))) result.set(member, score);
      }
    }
  } else if (sources.every((source) => source !== undefined)) {
    const ordered = sources.map((source, s) => ({
      source: source as Map<string, number>,
      weight: weights[s] as number,
    }));
    const [first, ...rest] = ordered as [(typeof ordered)[number], ...typeof ordered];
    for (const [member, score] of first.source) {
      let value = weigh(score, first.weight);
      let everywhere = true;
      for (const other of rest) {
        const theirs = other.source.get(member);
        if (theirs === undefined) {
          everywhere = false;
          break;
        }
        value = aggregate(how, value, weigh(theirs, other.weight));
      }
      if (everywhere) result.set(member, value);
    }
  }
  return { result, withScores };
}

function storeCommand(op: SetOp, name: string): CommandHandler {
  return (ctx, args) => {
    const { result } = combine(ctx, args, 2, op, name, true);
    const items = [...result].map(([member, score]) => ({ member, score }));
    ctx.out.integer(store(ctx, str(args[1] as Buffer), items));
    return undefined;
  };
}

function replyCommand(op: SetOp, name: string): CommandHandler {
  return (ctx, args) => {
    const { result, withScores } = combine(ctx, args, 1, op, name, false);
    const sorted = new SortedSet();
    for (const [member, score] of result) sorted.set(member, score);
    writeMembers(ctx.out, [...sorted.entries()], withScores);
    return undefined;
  };
}

const zintercard: CommandHandler = (ctx, args) => {
  const numkeys = integerArg(args[1] as Buffer);
  if (numkeys < 1) throw new ReplyError("ERR at least 1 input key is needed for 'zintercard' command");
  if (numkeys > args.length - 2) throw new ReplyError(SYNTAX_ERROR);
  let limit = 0;
  for (let i = 2 + numkeys; i < args.length; i++) {
    if (is(args[i], 'limit') && args[i + 1] !== undefined) {
      const value = integerOf(args[i + 1] as Buffer);
      if (value === undefined || value < 0) throw new ReplyError("ERR LIMIT can't be negative");
      limit = value;
      i++;
    } else {
      throw new ReplyError(SYNTAX_ERROR);
    }
  }
  const { result } = combine(ctx, args.slice(0, 2 + numkeys), 1, 'inter', 'zintercard', true);
  ctx.out.integer(limit > 0 ? Math.min(limit, result.size) : result.size);
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// ZSCAN / ZRANDMEMBER

const zscan: CommandHandler = (ctx, args) => {
  const cursor = (args[2] as Buffer).toString('latin1');
  if (!/^[0-9]+$/.test(cursor) || BigInt(cursor) > 2n ** 64n - 1n) throw new ReplyError('ERR invalid cursor');
  let match: ((member: string) => boolean) | undefined;
  for (let i = 3; i < args.length; i++) {
    const value = args[i + 1];
    if (is(args[i], 'count') && value !== undefined) {
      const count = integerArg(value);
      if (count < 1) throw new ReplyError(SYNTAX_ERROR);
      i++;
    } else if (is(args[i], 'match') && value !== undefined) {
      const pattern = str(value);
      match = pattern === '*' ? undefined : (member) => globMatch(pattern, member);
      i++;
    } else {
      throw new ReplyError(SYNTAX_ERROR);
    }
  }
  const zset = zsetOf(ctx, str(args[1] as Buffer));
  // The whole set in one call, cursor 0, in score order: what Redis does for small (listpack)
  // sets, and valid SCAN semantics for any size.
  const items: ScoredMember[] = [];
  if (zset !== undefined) {
    for (const item of zset.entries()) if (match === undefined || match(item.member)) items.push(item);
  }
  ctx.out.array(2);
  ctx.out.bulk('0');
  ctx.out.array(items.length * 2);
  for (const item of items) {
    bulkMember(ctx.out, item.member);
    ctx.out.bulk(formatScore(item.score));
  }
  return undefined;
};

const zrandmember: CommandHandler = (ctx, args) => {
  if (args.length > 4 || (args.length === 4 && !is(args[3], 'withscores')))
    throw new ReplyError(SYNTAX_ERROR);
  const count = args.length >= 3 ? integerArg(args[2] as Buffer) : undefined;
  if (count !== undefined && (count < -Number.MAX_SAFE_INTEGER || count > Number.MAX_SAFE_INTEGER)) {
    throw new ReplyError(NOT_AN_INTEGER);
  }
  const withScores = args.length === 4;
  const zset = zsetOf(ctx, str(args[1] as Buffer));
  if (count === undefined) {
    if (zset === undefined) ctx.out.nullBulk();
    else {
      const members = [...zset.members()];
      bulkMember(ctx.out, members[Math.floor(Math.random() * members.length)] as string);
    }
    return undefined;
  }
  if (zset === undefined || count === 0) {
    ctx.out.array(0);
    return undefined;
  }
  const members = [...zset.members()];
  let picked: string[];
  if (count < 0) {
    picked = Array.from(
      { length: -count },
      () => members[Math.floor(Math.random() * members.length)] as string,
    );
  } else if (count >= members.length) {
    // The whole set, highest score first, as Redis 7.0 answers this case.
    picked = [...zset.entries()].map((item) => item.member).reverse();
  } else {
    // Partial Fisher-Yates: `count` distinct members.
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(Math.random() * (members.length - i));
      [members[i], members[j]] = [members[j] as string, members[i] as string];
    }
    picked = members.slice(0, count);
  }
  writeMembers(
    ctx.out,
    picked.map((member) => ({ member, score: zset.score(member) as number })),
    withScores,
  );
  return undefined;
};

const w = ['write', 'sortedset'] as const;
const r = ['read', 'sortedset'] as const;

/** The sorted-set commands, with Redis 7.0's replies (scores as doubles: RESP2 bulk, RESP3 `,`). */
export const commands: CommandFamily = [
  spec('zadd', -4, ['write', 'denyoom', 'fast'], [1, 1, 1], [...w, 'fast'], zadd),
  spec('zincrby', 4, ['write', 'denyoom', 'fast'], [1, 1, 1], [...w, 'fast'], zincrby),
  spec('zrem', -3, ['write', 'fast'], [1, 1, 1], [...w, 'fast'], zrem),
  spec('zcard', 2, ['readonly', 'fast'], [1, 1, 1], [...r, 'fast'], zcard),
  spec('zscore', 3, ['readonly', 'fast'], [1, 1, 1], [...r, 'fast'], zscore),
  spec('zmscore', -3, ['readonly', 'fast'], [1, 1, 1], [...r, 'fast'], zmscore),
  spec('zrank', 3, ['readonly', 'fast'], [1, 1, 1], [...r, 'fast'], rankCommand(false)),
  spec('zrevrank', 3, ['readonly', 'fast'], [1, 1, 1], [...r, 'fast'], rankCommand(true)),
  spec('zcount', 4, ['readonly', 'fast'], [1, 1, 1], [...r, 'fast'], zcount),
  spec('zlexcount', 4, ['readonly', 'fast'], [1, 1, 1], [...r, 'fast'], zlexcount),
  spec('zrange', -4, ['readonly'], [1, 1, 1], [...r, 'slow'], rangeCommand({})),
  spec(
    'zrangebyscore',
    -4,
    ['readonly'],
    [1, 1, 1],
    [...r, 'slow'],
    rangeCommand({ type: 'score', reverse: false }),
  ),
  spec(
    'zrevrangebyscore',
    -4,
    ['readonly'],
    [1, 1, 1],
    [...r, 'slow'],
    rangeCommand({ type: 'score', reverse: true }),
  ),
  spec(
    'zrangebylex',
    -4,
    ['readonly'],
    [1, 1, 1],
    [...r, 'slow'],
    rangeCommand({ type: 'lex', reverse: false }),
  ),
  spec(
    'zrevrangebylex',
    -4,
    ['readonly'],
    [1, 1, 1],
    [...r, 'slow'],
    rangeCommand({ type: 'lex', reverse: true }),
  ),
  spec(
    'zrevrange',
    -4,
    ['readonly'],
    [1, 1, 1],
    [...r, 'slow'],
    rangeCommand({ type: 'rank', reverse: true }),
  ),
  spec('zrangestore', -5, ['write', 'denyoom'], [1, 2, 1], [...w, 'slow'], zrangestore),
  spec('zremrangebyscore', 4, ['write'], [1, 1, 1], [...w, 'slow'], removeRange('score')),
  spec('zremrangebyrank', 4, ['write'], [1, 1, 1], [...w, 'slow'], removeRange('rank')),
  spec('zremrangebylex', 4, ['write'], [1, 1, 1], [...w, 'slow'], removeRange('lex')),
  spec('zpopmin', -2, ['write', 'fast'], [1, 1, 1], [...w, 'fast'], popCommand(false)),
  spec('zpopmax', -2, ['write', 'fast'], [1, 1, 1], [...w, 'fast'], popCommand(true)),
  spec(
    'bzpopmin',
    -3,
    ['write', 'noscript', 'blocking', 'fast'],
    [1, -2, 1],
    [...w, 'fast', 'blocking'],
    blockingPop(false),
  ),
  spec(
    'bzpopmax',
    -3,
    ['write', 'noscript', 'blocking', 'fast'],
    [1, -2, 1],
    [...w, 'fast', 'blocking'],
    blockingPop(true),
  ),
  spec(
    'zmpop',
    -4,
    ['write', 'movablekeys'],
    [0, 0, 0],
    [...w, 'slow'],
    multiPop(false),
    numkeysPositions(1),
  ),
  spec(
    'bzmpop',
    -5,
    ['write', 'blocking', 'movablekeys'],
    [0, 0, 0],
    [...w, 'slow', 'blocking'],
    multiPop(true),
    numkeysPositions(2),
  ),
  spec(
    'zunionstore',
    -4,
    ['write', 'denyoom', 'movablekeys'],
    [1, 1, 1],
    [...w, 'slow'],
    storeCommand('union', 'zunionstore'),
    (args) => [1, ...numkeysPositions(2)(args)],
  ),
  spec(
    'zinterstore',
    -4,
    ['write', 'denyoom', 'movablekeys'],
    [1, 1, 1],
    [...w, 'slow'],
    storeCommand('inter', 'zinterstore'),
    (args) => [1, ...numkeysPositions(2)(args)],
  ),
  spec(
    'zdiffstore',
    -4,
    ['write', 'denyoom', 'movablekeys'],
    [1, 1, 1],
    [...w, 'slow'],
    storeCommand('diff', 'zdiffstore'),
    (args) => [1, ...numkeysPositions(2)(args)],
  ),
  spec(
    'zunion',
    -3,
    ['readonly', 'movablekeys'],
    [0, 0, 0],
    [...r, 'slow'],
    replyCommand('union', 'zunion'),
    numkeysPositions(1),
  ),
  spec(
    'zinter',
    -3,
    ['readonly', 'movablekeys'],
    [0, 0, 0],
    [...r, 'slow'],
    replyCommand('inter', 'zinter'),
    numkeysPositions(1),
  ),
  spec(
    'zdiff',
    -3,
    ['readonly', 'movablekeys'],
    [0, 0, 0],
    [...r, 'slow'],
    replyCommand('diff', 'zdiff'),
    numkeysPositions(1),
  ),
  spec(
    'zintercard',
    -3,
    ['readonly', 'movablekeys'],
    [0, 0, 0],
    [...r, 'slow'],
    zintercard,
    numkeysPositions(1),
  ),
  spec('zscan', -3, ['readonly'], [1, 1, 1], [...r, 'slow'], zscan),
  spec('zrandmember', -2, ['readonly'], [1, 1, 1], [...r, 'slow'], zrandmember),
];
