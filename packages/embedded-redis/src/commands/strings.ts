import {
  command,
  ERR_NOT_FLOAT,
  ERR_NOT_INTEGER,
  ERR_SYNTAX,
  lowerArg,
  parseInteger,
  tryDouble,
  tryInt64,
} from '../args.js';
import { bytesOf, INLINE_MAX, StringEntry, stringEntryOf, writeValue } from '../data/string.js';
import { parseStrictInteger } from '../resp/parser.js';
import {
  type CommandContext,
  type CommandFamily,
  type CommandHandler,
  type Entry,
  ReplyError,
  WrongTypeError,
} from '../types.js';

const EMPTY = Buffer.alloc(0);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Largest string value (`proto-max-bulk-len` default, as Redis checks SETRANGE/APPEND). */
const MAX_STRING = 512 * 1024 * 1024;

/** The string value at `key` (WRONGTYPE for another type), or undefined. */
export function getString(ctx: CommandContext, key: Buffer): Buffer | undefined {
  const entry = ctx.db.getTyped(key.toString('latin1'), 'string');
  return entry === undefined ? undefined : bytesOf(entry);
}

/** A string entry for `value`, a Buffer this command created (not a view of the request). */
function stringEntry(value: Buffer, expiresAt: number | undefined = undefined): Entry {
  return new StringEntry(value.length <= INLINE_MAX ? value.toString('latin1') : value, expiresAt);
}

// ---- expiry options shared by SET and GETEX ----

interface ExpiryOption {
  /** Absolute ms, or undefined; `keep` keeps the TTL; `persist` removes it. */
  at: number | undefined;
  keep: boolean;
  persist: boolean;
}

/** Converts EX/PX/EXAT/PXAT's argument to absolute ms (Redis's overflow and `<= 0` checks). */
function expiryAt(ctx: CommandContext, unit: string, arg: Buffer | undefined, commandName: string): number {
  const value = parseInteger(arg);
  const invalid = `ERR invalid expire time in '${commandName}' command`;
  if (value <= 0) throw new ReplyError(invalid);
  const seconds = unit === 'ex' || unit === 'exat';
  if (seconds && value > Number.MAX_SAFE_INTEGER / 1000) throw new ReplyError(invalid);
  const ms = seconds ? value * 1000 : value;
  const relative = unit === 'ex' || unit === 'px';
  const at = relative ? ctx.now() + ms : ms;
  if (!Number.isSafeInteger(at)) throw new ReplyError(invalid);
  return at;
}

// ---- SET ----

const set: CommandHandler = (ctx, args) => {
  const key = (args[1] as Buffer).toString('latin1');
  const db = ctx.db;
  if (args.length === 3) {
    db.set(key, stringEntryOf(args[2] as Buffer));
    ctx.out.simple('OK');
    return undefined;
  }
  let nx = false;
  let xx = false;
  let get = false;
  let unit = '';
  let expiryArg: Buffer | undefined;
  let keep = false;
  for (let i = 3; i < args.length; i++) {
    const option = lowerArg(args[i]);
    if (option === 'nx' && !xx) nx = true;
    else if (option === 'xx' && !nx) xx = true;
    else if (option === 'get') get = true;
    else if (option === 'keepttl' && unit === '') keep = true;
    else if (
      (option === 'ex' || option === 'px' || option === 'exat' || option === 'pxat') &&
      unit === '' &&
      !keep
    ) {
      if (i + 1 >= args.length) throw new ReplyError(ERR_SYNTAX);
      unit = option;
      expiryArg = args[++i];
    } else {
      throw new ReplyError(ERR_SYNTAX);
    }
  }
  const at = unit === '' ? undefined : expiryAt(ctx, unit, expiryArg, 'set');
  const old = db.get(key);
  if (get && old !== undefined && old.type !== 'string') throw new WrongTypeError();
  const apply = !((nx && old !== undefined) || (xx && old === undefined));
  if (apply) {
    if (at !== undefined && at <= ctx.now()) {
      db.delete(key);
    } else {
      db.set(key, stringEntryOf(args[2] as Buffer, at), keep);
    }
  }
  if (get) {
    if (old === undefined) ctx.out.nullBulk();
    else writeValue(ctx.out, old);
  } else if (apply) {
    ctx.out.simple('OK');
  } else {
    ctx.out.nullBulk();
  }
  return undefined;
};

function setWithExpiry(unit: 'ex' | 'px', name: string): CommandHandler {
  return (ctx, args) => {
    const at = expiryAt(ctx, unit, args[2], name);
    const key = (args[1] as Buffer).toString('latin1');
    if (at <= ctx.now()) ctx.db.delete(key);
    else ctx.db.set(key, stringEntryOf(args[3] as Buffer, at));
    ctx.out.simple('OK');
    return undefined;
  };
}

const setnx: CommandHandler = (ctx, args) => {
  const key = (args[1] as Buffer).toString('latin1');
  if (ctx.db.get(key) !== undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  ctx.db.set(key, stringEntryOf(args[2] as Buffer));
  ctx.out.integer(1);
  return undefined;
};

// ---- GET family ----

const get: CommandHandler = (ctx, args) => {
  const entry = ctx.db.getTyped((args[1] as Buffer).toString('latin1'), 'string');
  if (entry === undefined) ctx.out.nullBulk();
  else writeValue(ctx.out, entry);
  return undefined;
};

const getex: CommandHandler = (ctx, args) => {
  const key = (args[1] as Buffer).toString('latin1');
  const option: ExpiryOption = { at: undefined, keep: true, persist: false };
  let seen = false;
  for (let i = 2; i < args.length; i++) {
    const name = lowerArg(args[i]);
    if (
      (name === 'ex' || name === 'px' || name === 'exat' || name === 'pxat') &&
      !seen &&
      i + 1 < args.length
    ) {
      option.at = expiryAt(ctx, name, args[++i], 'getex');
      option.keep = false;
      seen = true;
    } else if (name === 'persist' && !seen) {
      option.persist = true;
      option.keep = false;
      seen = true;
    } else {
      throw new ReplyError(ERR_SYNTAX);
    }
  }
  const entry = ctx.db.getTyped(key, 'string');
  if (entry === undefined) {
    ctx.out.nullBulk();
    return undefined;
  }
  if (option.at !== undefined) {
    if (option.at <= ctx.now()) {
      ctx.db.delete(key);
    } else {
      entry.expiresAt = option.at;
      ctx.db.touch(key);
    }
  } else if (option.persist && entry.expiresAt !== undefined) {
    entry.expiresAt = undefined;
    ctx.db.touch(key);
  }
  writeValue(ctx.out, entry);
  return undefined;
};

const getdel: CommandHandler = (ctx, args) => {
  const value = getString(ctx, args[1] as Buffer);
  if (value === undefined) {
    ctx.out.nullBulk();
    return undefined;
  }
  ctx.db.delete((args[1] as Buffer).toString('latin1'));
  ctx.out.bulk(value);
  return undefined;
};

const getset: CommandHandler = (ctx, args) => {
  const old = getString(ctx, args[1] as Buffer);
  ctx.db.set((args[1] as Buffer).toString('latin1'), stringEntryOf(args[2] as Buffer));
  if (old === undefined) ctx.out.nullBulk();
  else ctx.out.bulk(old);
  return undefined;
};

const mget: CommandHandler = (ctx, args) => {
  ctx.out.array(args.length - 1);
  for (let i = 1; i < args.length; i++) {
    const entry = ctx.db.get((args[i] as Buffer).toString('latin1'));
    if (entry === undefined || entry.type !== 'string') ctx.out.nullBulk();
    else writeValue(ctx.out, entry);
  }
  return undefined;
};

function msetGeneric(nx: boolean, name: string): CommandHandler {
  return (ctx, args) => {
    if (args.length % 2 === 0) throw new ReplyError(`ERR wrong number of arguments for '${name}' command`);
    if (nx) {
      for (let i = 1; i < args.length; i += 2) {
        if (ctx.db.get((args[i] as Buffer).toString('latin1')) !== undefined) {
          ctx.out.integer(0);
          return undefined;
        }
      }
    }
    for (let i = 1; i < args.length; i += 2) {
      ctx.db.set((args[i] as Buffer).toString('latin1'), stringEntryOf(args[i + 1] as Buffer));
    }
    if (nx) ctx.out.integer(1);
    else ctx.out.simple('OK');
    return undefined;
  };
}

// ---- counters ----

/** The integer in a string value, as a number when safe or a bigint; throws when not an integer. */
function storedInteger(value: Buffer): number | bigint {
  const n = parseStrictInteger(value, 0, value.length);
  if (!Number.isNaN(n)) return n;
  const big = tryInt64(value);
  if (big === undefined) throw new ReplyError(ERR_NOT_INTEGER);
  return big;
}

/** `storedInteger` of a string entry, parsing an inline value without copying it. */
function storedIntegerOf(entry: Entry): number | bigint {
  const data = entry instanceof StringEntry ? entry.data : (entry.value as Buffer);
  if (typeof data !== 'string') return storedInteger(data);
  const n = integerText(data);
  if (!Number.isNaN(n)) return n;
  return storedInteger(Buffer.from(data, 'latin1'));
}

/** `parseStrictInteger` over a latin1 string: NaN when not a canonical integer within ±2^53. */
function integerText(text: string): number {
  const end = text.length;
  if (end === 0 || end > 17) return Number.NaN;
  let p = 0;
  let negative = false;
  if (text.charCodeAt(0) === 45) {
    negative = true;
    p = 1;
    if (end === 1) return Number.NaN;
  }
  const first = text.charCodeAt(p);
  if (first === 48) return end === 1 ? 0 : Number.NaN;
  if (first < 49 || first > 57) return Number.NaN;
  let value = first - 48;
  for (p++; p < end; p++) {
    const c = text.charCodeAt(p);
    if (c < 48 || c > 57) return Number.NaN;
    value = value * 10 + (c - 48);
  }
  if (value > Number.MAX_SAFE_INTEGER) return Number.NaN;
  return negative ? -value : value;
}

function incrementBy(ctx: CommandContext, keyArg: Buffer, delta: number | bigint): void {
  const key = keyArg.toString('latin1');
  const entry = ctx.db.getTyped(key, 'string');
  const current = entry === undefined ? 0 : storedIntegerOf(entry);
  let result: number | bigint;
  if (typeof current === 'number' && typeof delta === 'number') {
    result = current + delta;
    if (!Number.isSafeInteger(result)) result = BigInt(current) + BigInt(delta);
  } else {
    result = BigInt(current) + BigInt(delta);
  }
  if (typeof result === 'bigint') {
    if (result < INT64_MIN || result > INT64_MAX)
      throw new ReplyError('ERR increment or decrement would overflow');
  }
  const text = String(result);
  if (entry === undefined) {
    ctx.db.set(key, new StringEntry(text));
  } else {
    if (entry instanceof StringEntry) entry.data = text;
    else entry.value = Buffer.from(text, 'latin1');
    ctx.db.touch(key);
  }
  ctx.out.integer(result);
}

function parseDelta(arg: Buffer | undefined): number | bigint {
  if (arg === undefined) throw new ReplyError(ERR_NOT_INTEGER);
  const n = parseStrictInteger(arg, 0, arg.length);
  if (!Number.isNaN(n)) return n;
  const big = tryInt64(arg);
  if (big === undefined) throw new ReplyError(ERR_NOT_INTEGER);
  return big;
}

const incr: CommandHandler = (ctx, args) => {
  incrementBy(ctx, args[1] as Buffer, 1);
  return undefined;
};
const decr: CommandHandler = (ctx, args) => {
  incrementBy(ctx, args[1] as Buffer, -1);
  return undefined;
};
const incrby: CommandHandler = (ctx, args) => {
  incrementBy(ctx, args[1] as Buffer, parseDelta(args[2]));
  return undefined;
};
const decrby: CommandHandler = (ctx, args) => {
  const delta = parseDelta(args[2]);
  if (delta === INT64_MIN) throw new ReplyError('ERR decrement would overflow');
  incrementBy(ctx, args[1] as Buffer, typeof delta === 'number' ? -delta : -delta);
  return undefined;
};

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** An exact rational `num / den` (den > 0). */
interface Rational {
  num: bigint;
  den: bigint;
}

/** The exact value of decimal text (`1.5`, `-2e3`), or undefined for other forms. */
function exactDecimal(text: string): Rational | undefined {
  const m = DECIMAL_RE.exec(text);
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  const exponent = Number(m[4] ?? '0') - frac.length;
  if ((m[2] ?? '').length + frac.length > 400 || Math.abs(exponent) > 400) return undefined;
  const digits = BigInt(`${m[1] === '-' ? '-' : ''}${m[2] || '0'}${frac}`);
  return exponent >= 0
    ? { num: digits * 10n ** BigInt(exponent), den: 1n }
    : { num: digits, den: 10n ** BigInt(-exponent) };
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** Divides rounding half to even. */
function divRound(num: bigint, den: bigint): bigint {
  const negative = num < 0n;
  const a = negative ? -num : num;
  let q = a / den;
  const r2 = (a % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

/** Rounds to the nearest x87 80-bit long double (64-bit significand), as strtold and long double adds do. */
function toLongDouble(x: Rational): Rational {
  if (x.num === 0n) return x;
  const abs = x.num < 0n ? -x.num : x.num;
  let k = 64 - (bitLength(abs) - bitLength(x.den));
  let m = k >= 0 ? divRound(abs << BigInt(k), x.den) : divRound(abs, x.den << BigInt(-k));
  while (bitLength(m) > 64) {
    k -= 1;
    m = k >= 0 ? divRound(abs << BigInt(k), x.den) : divRound(abs, x.den << BigInt(-k));
  }
  while (bitLength(m) < 64) {
    k += 1;
    m = k >= 0 ? divRound(abs << BigInt(k), x.den) : divRound(abs, x.den << BigInt(-k));
  }
  const num = x.num < 0n ? -m : m;
  return k >= 0 ? { num, den: 1n << BigInt(k) } : { num: num << BigInt(-k), den: 1n };
}

/**
 * Adds two decimal texts as Redis's INCRBYFLOAT does: each parsed to a long double, added in
 * long double, printed with `%.17Lf` and trailing zeros trimmed. Exact for decimal inputs;
 * other forms fall back to double arithmetic. Undefined when the result is not finite.
 */
export function addFloats(a: string, b: string): string | undefined {
  const x = exactDecimal(a);
  const y = exactDecimal(b);
  if (x !== undefined && y !== undefined) {
    const lx = toLongDouble(x);
    const ly = toLongDouble(y);
    const sum = toLongDouble({ num: lx.num * ly.den + ly.num * lx.den, den: lx.den * ly.den });
    return formatScaled(divRound(sum.num * 10n ** 17n, sum.den), 17);
  }
  const result = Number(a) + Number(b);
  if (!Number.isFinite(result)) return undefined;
  return formatHuman(result);
}

function formatScaled(value: bigint, scale: number): string {
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    let int = digits.slice(0, digits.length - scale);
    let frac = digits.slice(digits.length - scale).replace(/0+$/, '');
    int = int.replace(/^0+(?=\d)/, '');
    if (frac === '' && int === '0') return '0';
    frac = frac === '' ? '' : `.${frac}`;
    return `${negative ? '-' : ''}${int}${frac}`;
  }
  digits = digits.replace(/^0+(?=\d)/, '');
  return digits === '0' ? '0' : `${negative ? '-' : ''}${digits}`;
}

/** A double as `%.17f` with trailing zeros trimmed (Redis's LD_STR_HUMAN for doubles). */
export function formatHuman(value: number): string {
  if (value === 0) return '0';
  const exact = exactDecimal(String(value));
  if (exact === undefined) return String(value);
  return formatScaled(divRound(exact.num * 10n ** 17n, exact.den), 17);
}

const incrbyfloat: CommandHandler = (ctx, args) => {
  const key = (args[1] as Buffer).toString('latin1');
  const entry = ctx.db.getTyped(key, 'string');
  const incrementArg = args[2] as Buffer;
  const increment = tryDouble(incrementArg);
  const currentBytes = entry === undefined ? undefined : bytesOf(entry);
  const currentText = currentBytes === undefined ? '0' : currentBytes.toString('latin1');
  const current = currentBytes === undefined ? 0 : tryDouble(currentBytes);
  if (current === undefined || increment === undefined) throw new ReplyError(ERR_NOT_FLOAT);
  if (!Number.isFinite(current + increment))
    throw new ReplyError('ERR increment would produce NaN or Infinity');
  const text = addFloats(currentText, incrementArg.toString('latin1'));
  if (text === undefined) throw new ReplyError('ERR increment would produce NaN or Infinity');
  const value = Buffer.from(text, 'latin1');
  if (entry === undefined) ctx.db.set(key, stringEntry(value));
  else {
    entry.value = value;
    ctx.db.touch(key);
  }
  ctx.out.bulk(value);
  return undefined;
};

// ---- byte ranges ----

const append: CommandHandler = (ctx, args) => {
  const key = (args[1] as Buffer).toString('latin1');
  const entry = ctx.db.getTyped(key, 'string');
  const extra = args[2] as Buffer;
  if (entry === undefined) {
    ctx.db.set(key, stringEntryOf(extra));
    ctx.out.integer(extra.length);
    return undefined;
  }
  const old = bytesOf(entry);
  if (old.length + extra.length > MAX_STRING) {
    throw new ReplyError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  }
  entry.value = Buffer.concat([old, extra]);
  ctx.db.touch(key);
  ctx.out.integer(old.length + extra.length);
  return undefined;
};

const strlen: CommandHandler = (ctx, args) => {
  ctx.out.integer(getString(ctx, args[1] as Buffer)?.length ?? 0);
  return undefined;
};

const getrange: CommandHandler = (ctx, args) => {
  let start = parseInteger(args[2]);
  let end = parseInteger(args[3]);
  const value = getString(ctx, args[1] as Buffer) ?? EMPTY;
  const len = value.length;
  if (start < 0 && end < 0 && start > end) {
    ctx.out.bulk(EMPTY);
    return undefined;
  }
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) ctx.out.bulk(EMPTY);
  else ctx.out.bulk(value.subarray(start, end + 1));
  return undefined;
};

const setrange: CommandHandler = (ctx, args) => {
  const key = (args[1] as Buffer).toString('latin1');
  const offset = parseInteger(args[2]);
  const patch = args[3] as Buffer;
  if (offset < 0) throw new ReplyError('ERR offset is out of range');
  const entry = ctx.db.getTyped(key, 'string');
  if (entry === undefined) {
    if (patch.length === 0) {
      ctx.out.integer(0);
      return undefined;
    }
    if (offset + patch.length > MAX_STRING) {
      throw new ReplyError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
    }
    const value = Buffer.alloc(offset + patch.length);
    patch.copy(value, offset);
    ctx.db.set(key, stringEntry(value));
    ctx.out.integer(value.length);
    return undefined;
  }
  const old = bytesOf(entry);
  if (patch.length === 0) {
    ctx.out.integer(old.length);
    return undefined;
  }
  if (offset + patch.length > MAX_STRING) {
    throw new ReplyError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  }
  const size = Math.max(old.length, offset + patch.length);
  const value = size === old.length ? Buffer.from(old) : Buffer.alloc(size);
  if (size !== old.length) old.copy(value, 0);
  patch.copy(value, offset);
  entry.value = value;
  ctx.db.touch(key);
  ctx.out.integer(value.length);
  return undefined;
};

const W = ['write', 'denyoom'];
const WF = ['write', 'denyoom', 'fast'];
const R = ['readonly', 'fast'];
const WS = ['write', 'string', 'slow'] as const;
const WSF = ['write', 'string', 'fast'] as const;
const RSF = ['read', 'string', 'fast'] as const;

/** SET, GET and the rest of the string commands. */
export const commands: CommandFamily = [
  command('set', -3, W, [1, 1, 1], WS, set),
  command('setnx', 3, WF, [1, 1, 1], WSF, setnx),
  command('setex', 4, W, [1, 1, 1], WS, setWithExpiry('ex', 'setex')),
  command('psetex', 4, W, [1, 1, 1], WS, setWithExpiry('px', 'psetex')),
  command('get', 2, R, [1, 1, 1], RSF, get),
  command('getex', -2, ['write', 'fast'], [1, 1, 1], WSF, getex),
  command('getdel', 2, ['write', 'fast'], [1, 1, 1], WSF, getdel),
  command('getset', 3, WF, [1, 1, 1], WSF, getset),
  command('mget', -2, R, [1, -1, 1], RSF, mget),
  command('mset', -3, W, [1, -1, 2], WS, msetGeneric(false, 'mset')),
  command('msetnx', -3, W, [1, -1, 2], WS, msetGeneric(true, 'msetnx')),
  command('incr', 2, WF, [1, 1, 1], WSF, incr),
  command('decr', 2, WF, [1, 1, 1], WSF, decr),
  command('incrby', 3, WF, [1, 1, 1], WSF, incrby),
  command('decrby', 3, WF, [1, 1, 1], WSF, decrby),
  command('incrbyfloat', 3, WF, [1, 1, 1], WSF, incrbyfloat),
  command('append', 3, WF, [1, 1, 1], WSF, append),
  command('strlen', 2, R, [1, 1, 1], RSF, strlen),
  command('getrange', 4, ['readonly'], [1, 1, 1], ['read', 'string', 'slow'], getrange),
  command('substr', 4, ['readonly'], [1, 1, 1], ['read', 'string', 'slow'], getrange),
  command('setrange', 4, W, [1, 1, 1], WS, setrange),
];
