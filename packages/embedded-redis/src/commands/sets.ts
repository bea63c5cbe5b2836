import { command, ERR_SYNTAX, lowerArg, parseInteger } from '../args.js';
import { globMatch } from '../glob.js';
import {
  type CommandContext,
  type CommandFamily,
  type CommandHandler,
  type Database,
  ReplyError,
} from '../types.js';
import { CursorTable, parseCursor, parseScanOptions } from './keys.js';

type RSet = Set<string>;

function keyOf(arg: Buffer | undefined): string {
  return (arg as Buffer).toString('latin1');
}

function getSet(db: Database, key: string): RSet | undefined {
  return db.getTyped(key, 'set')?.value as RSet | undefined;
}

const INTSET_MAX = 512;
const INT_RE = /^-?(0|[1-9]\d{0,18})$/;

/** Members in Redis's order where it is deterministic: an all-integer small set (intset) sorts ascending. */
function ordered(set: RSet): string[] {
  const members = [...set];
  if (members.length > INTSET_MAX) return members;
  for (const m of members) if (!INT_RE.test(m)) return members;
  const big = members.map((m) => BigInt(m));
  if (big.some((b) => b < -(2n ** 63n) || b >= 2n ** 63n)) return members;
  return members.sort((a, b) => {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
}

function writeMembers(ctx: CommandContext, members: string[], asSet = true): void {
  if (asSet) ctx.out.set(members.length);
  else ctx.out.array(members.length);
  for (const m of members) ctx.out.bulk(Buffer.from(m, 'latin1'));
}

function store(db: Database, key: string, members: RSet): void {
  db.delete(key);
  if (members.size > 0) db.set(key, { type: 'set', value: members, expiresAt: undefined });
}

const sadd: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  let set = getSet(ctx.db, key);
  const created = set === undefined;
  if (set === undefined) set = new Set();
  let added = 0;
  for (let i = 2; i < args.length; i++) {
    const member = keyOf(args[i]);
    if (!set.has(member)) {
      set.add(member);
      added++;
    }
  }
  if (created) ctx.db.set(key, { type: 'set', value: set, expiresAt: undefined });
  else if (added > 0) ctx.db.touch(key);
  ctx.out.integer(added);
  return undefined;
};

const srem: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  const set = getSet(ctx.db, key);
  let removed = 0;
  if (set !== undefined) {
    for (let i = 2; i < args.length; i++) if (set.delete(keyOf(args[i]))) removed++;
    if (set.size === 0) ctx.db.delete(key);
    else if (removed > 0) ctx.db.touch(key);
  }
  ctx.out.integer(removed);
  return undefined;
};

const smembers: CommandHandler = (ctx, args) => {
  const set = getSet(ctx.db, keyOf(args[1]));
  writeMembers(ctx, set === undefined ? [] : ordered(set));
  return undefined;
};

const sismember: CommandHandler = (ctx, args) => {
  ctx.out.integer(getSet(ctx.db, keyOf(args[1]))?.has(keyOf(args[2])) ? 1 : 0);
  return undefined;
};

const smismember: CommandHandler = (ctx, args) => {
  const set = getSet(ctx.db, keyOf(args[1]));
  ctx.out.array(args.length - 2);
  for (let i = 2; i < args.length; i++) ctx.out.integer(set?.has(keyOf(args[i])) ? 1 : 0);
  return undefined;
};

const scard: CommandHandler = (ctx, args) => {
  ctx.out.integer(getSet(ctx.db, keyOf(args[1]))?.size ?? 0);
  return undefined;
};

function shuffled(members: string[]): string[] {
  for (let i = members.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [members[i], members[j]] = [members[j] as string, members[i] as string];
  }
  return members;
}

/** SPOP is random: the AOF records the members it removed. */
function propagateSrem(ctx: CommandContext, key: Buffer, members: string[]): void {
  ctx.server.propagateAs?.([Buffer.from('SREM'), key, ...members.map((m) => Buffer.from(m, 'latin1'))]);
}

const spop: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  if (args.length > 3) throw new ReplyError(ERR_SYNTAX);
  const count =
    args.length === 3 ? parseInteger(args[2], 'ERR value is out of range, must be positive') : undefined;
  if (count !== undefined && count < 0) throw new ReplyError('ERR value is out of range, must be positive');
  const set = getSet(ctx.db, key);
  if (count === undefined) {
    if (set === undefined) {
      ctx.out.nullBulk();
      return undefined;
    }
    const members = [...set];
    const member = members[Math.floor(Math.random() * members.length)] as string;
    set.delete(member);
    propagateSrem(ctx, args[1] as Buffer, [member]);
    if (set.size === 0) ctx.db.delete(key);
    else ctx.db.touch(key);
    ctx.out.bulk(Buffer.from(member, 'latin1'));
    return undefined;
  }
  if (set === undefined || count === 0) {
    writeMembers(ctx, []);
    return undefined;
  }
  const picked = count >= set.size ? ordered(set) : shuffled([...set]).slice(0, count);
  for (const m of picked) set.delete(m);
  propagateSrem(ctx, args[1] as Buffer, picked);
  if (set.size === 0) ctx.db.delete(key);
  else ctx.db.touch(key);
  writeMembers(ctx, picked);
  return undefined;
};

const srandmember: CommandHandler = (ctx, args) => {
  const set = getSet(ctx.db, keyOf(args[1]));
  if (args.length > 3) throw new ReplyError(ERR_SYNTAX);
  if (args.length === 2) {
    if (set === undefined) ctx.out.nullBulk();
    else {
      const members = [...set];
      ctx.out.bulk(Buffer.from(members[Math.floor(Math.random() * members.length)] as string, 'latin1'));
    }
    return undefined;
  }
  const count = parseInteger(args[2]);
  const members = set === undefined ? [] : [...set];
  let picked: string[];
  if (members.length === 0 || count === 0) picked = [];
  else if (count < 0) {
    picked = Array.from(
      { length: -count },
      () => members[Math.floor(Math.random() * members.length)] as string,
    );
  } else if (count >= members.length) picked = set === undefined ? [] : ordered(set);
  else picked = shuffled(members).slice(0, count);
  writeMembers(ctx, picked, false);
  return undefined;
};

const smove: CommandHandler = (ctx, args) => {
  const from = keyOf(args[1]);
  const to = keyOf(args[2]);
  const member = keyOf(args[3]);
  const source = getSet(ctx.db, from);
  const target = getSet(ctx.db, to);
  if (source === undefined || !source.has(member)) {
    ctx.out.integer(0);
    return undefined;
  }
  if (from === to) {
    ctx.out.integer(1);
    return undefined;
  }
  source.delete(member);
  if (source.size === 0) ctx.db.delete(from);
  else ctx.db.touch(from);
  if (target === undefined) ctx.db.set(to, { type: 'set', value: new Set([member]), expiresAt: undefined });
  else if (!target.has(member)) {
    target.add(member);
    ctx.db.touch(to);
  }
  ctx.out.integer(1);
  return undefined;
};

type Op = 'inter' | 'union' | 'diff';

function combine(ctx: CommandContext, keys: Buffer[], op: Op): RSet {
  const sets = keys.map((k) => getSet(ctx.db, keyOf(k)));
  if (op === 'inter') {
    if (sets.some((s) => s === undefined || s.size === 0)) return new Set();
    const sorted = (sets as RSet[]).slice().sort((a, b) => a.size - b.size);
    const [first, ...rest] = sorted as [RSet, ...RSet[]];
    const out = new Set<string>();
    for (const m of first) if (rest.every((s) => s.has(m))) out.add(m);
    return out;
  }
  if (op === 'union') {
    const out = new Set<string>();
    for (const s of sets) if (s !== undefined) for (const m of s) out.add(m);
    return out;
  }
  const [first, ...rest] = sets;
  const out = new Set<string>(first ?? []);
  for (const s of rest) if (s !== undefined) for (const m of s) out.delete(m);
  return out;
}

function setOp(op: Op): CommandHandler {
  return (ctx, args) => {
    writeMembers(ctx, ordered(combine(ctx, args.slice(1), op)));
    return undefined;
  };
}

function setOpStore(op: Op): CommandHandler {
  return (ctx, args) => {
    const result = combine(ctx, args.slice(2), op);
    store(ctx.db, keyOf(args[1]), result);
    ctx.out.integer(result.size);
    return undefined;
  };
}

const sintercard: CommandHandler = (ctx, args) => {
  const numkeys = parseInteger(args[1]);
  if (numkeys <= 0) throw new ReplyError('ERR numkeys should be greater than 0');
  if (numkeys > args.length - 2)
    throw new ReplyError("ERR Number of keys can't be greater than number of args");
  let limit = 0;
  for (let i = 2 + numkeys; i < args.length; i++) {
    if (lowerArg(args[i]) === 'limit' && i + 1 < args.length) {
      limit = parseInteger(args[++i]);
      if (limit < 0) throw new ReplyError("ERR LIMIT can't be negative");
    } else throw new ReplyError(ERR_SYNTAX);
  }
  const result = combine(ctx, args.slice(2, 2 + numkeys), 'inter');
  ctx.out.integer(limit > 0 ? Math.min(limit, result.size) : result.size);
  return undefined;
};

const CURSORS = Symbol('sets.sscan.cursors');

const sscan: CommandHandler = (ctx, args) => {
  const key = keyOf(args[1]);
  const cursor = parseCursor(args[2]);
  const { match, count } = parseScanOptions(args, 3, false);
  const set = getSet(ctx.db, key);
  let members: string[];
  let next = 0;
  if (set === undefined) members = [];
  else if (set.size <= 128) members = ordered(set);
  else {
    const table = ctx.server.extension(CURSORS, () => new CursorTable<string>());
    const step = table.step(`${ctx.db.index}\u0000${key}`, cursor, () => set.values(), count);
    members = step.items;
    next = step.cursor;
  }
  const found = members.filter((m) => (match === undefined || globMatch(match, m)) && set?.has(m));
  ctx.out.array(2);
  ctx.out.bulk(String(next));
  writeMembers(ctx, found, false);
  return undefined;
};

const W = ['write', 'denyoom', 'fast'];
const R = ['readonly', 'fast'];
const SWF = ['write', 'set', 'fast'] as const;
const SRF = ['read', 'set', 'fast'] as const;
const SRS = ['read', 'set', 'slow'] as const;
const SWS = ['write', 'set', 'slow'] as const;

/** The set commands. */
export const commands: CommandFamily = [
  command('sadd', -3, W, [1, 1, 1], SWF, sadd),
  command('srem', -3, ['write', 'fast'], [1, 1, 1], SWF, srem),
  command('smembers', 2, ['readonly'], [1, 1, 1], SRS, smembers),
  command('sismember', 3, R, [1, 1, 1], SRF, sismember),
  command('smismember', -3, R, [1, 1, 1], SRF, smismember),
  command('scard', 2, R, [1, 1, 1], SRF, scard),
  command('spop', -2, ['write', 'fast'], [1, 1, 1], SWF, spop),
  command('srandmember', -2, ['readonly'], [1, 1, 1], SRS, srandmember),
  command('smove', 4, ['write', 'fast'], [1, 2, 1], SWF, smove),
  command('sinter', -2, ['readonly'], [1, -1, 1], SRS, setOp('inter')),
  command('sunion', -2, ['readonly'], [1, -1, 1], SRS, setOp('union')),
  command('sdiff', -2, ['readonly'], [1, -1, 1], SRS, setOp('diff')),
  command('sinterstore', -3, ['write', 'denyoom'], [1, -1, 1], SWS, setOpStore('inter')),
  command('sunionstore', -3, ['write', 'denyoom'], [1, -1, 1], SWS, setOpStore('union')),
  command('sdiffstore', -3, ['write', 'denyoom'], [1, -1, 1], SWS, setOpStore('diff')),
  command('sintercard', -3, ['readonly'], [0, 0, 0], SRS, sintercard, {
    keys: (args) => {
      const n = Number((args[1] as Buffer).toString('latin1'));
      if (!Number.isInteger(n) || n <= 0) return [];
      return Array.from({ length: Math.min(n, args.length - 2) }, (_, i) => i + 2);
    },
  }),
  command('sscan', -3, ['readonly'], [1, 1, 1], SRS, sscan),
];
