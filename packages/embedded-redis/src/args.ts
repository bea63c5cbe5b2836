import { parseStrictInteger } from './resp/parser.js';
import { type CommandCategory, type CommandHandler, type CommandSpec, ReplyError } from './types.js';

/**
 * Shared argument parsing for command handlers, throwing `ReplyError`s with Redis 7.0's exact
 * texts, and the common error replies.
 */

export const ERR_NOT_INTEGER = 'ERR value is not an integer or out of range';
export const ERR_NOT_FLOAT = 'ERR value is not a valid float';
export const ERR_SYNTAX = 'ERR syntax error';
export const ERR_TIMEOUT_NOT_FLOAT = 'ERR timeout is not a float or out of range';
export const ERR_TIMEOUT_NEGATIVE = 'ERR timeout is negative';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The lower-case latin1 text of an argument (option names). */
export function lowerArg(arg: Buffer | undefined): string {
  return arg === undefined ? '' : arg.toString('latin1').toLowerCase();
}

/** An argument as a binary (latin1) string: keys, fields, members, channels. */
export function keyArg(arg: Buffer): string {
  return arg.toString('latin1');
}

/**
 * A 64-bit signed integer as Redis's `string2ll` accepts it (no `+`, spaces or leading zeros).
 * Returns a number when exactly representable, else throws `message`. Values beyond 2^53 throw
 * too: use `parseInt64` where the full range matters.
 */
export function parseInteger(arg: Buffer | undefined, message: string = ERR_NOT_INTEGER): number {
  if (arg === undefined) throw new ReplyError(message);
  const value = parseStrictInteger(arg, 0, arg.length);
  if (Number.isNaN(value)) {
    const big = tryInt64(arg);
    if (big === undefined) throw new ReplyError(message);
    throw new ReplyError(message);
  }
  return value;
}

/** Like `parseInteger`, over the whole int64 range, as a bigint. */
export function parseInt64(arg: Buffer | undefined, message: string = ERR_NOT_INTEGER): bigint {
  const value = arg === undefined ? undefined : tryInt64(arg);
  if (value === undefined) throw new ReplyError(message);
  return value;
}

/** An int64 per `string2ll`, or undefined. */
export function tryInt64(arg: Buffer): bigint | undefined {
  const len = arg.length;
  if (len === 0 || len > 20) return undefined;
  const fast = parseStrictInteger(arg, 0, len);
  if (!Number.isNaN(fast)) return BigInt(fast);
  let i = 0;
  if (arg[0] === 45) i = 1;
  if (i >= len || arg[i] === 48) return undefined;
  for (let j = i; j < len; j++) {
    const c = arg[j] as number;
    if (c < 48 || c > 57) return undefined;
  }
  const value = BigInt(arg.toString('latin1'));
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

/** A non-negative integer (counts, indexes): `ERR value is out of range, must be positive` when negative. */
export function parseNonNegative(
  arg: Buffer | undefined,
  message = 'ERR value is out of range, must be positive',
): number {
  const value = parseInteger(arg);
  if (value < 0) throw new ReplyError(message);
  return value;
}

/**
 * A double as Redis's `getDoubleFromObject`/`strtod` accepts it: decimal or exponent forms,
 * `inf`/`-inf`/`+inf`; no spaces, no NaN, no hex.
 */
export function parseDouble(arg: Buffer | undefined, message: string = ERR_NOT_FLOAT): number {
  const value = arg === undefined ? undefined : tryDouble(arg);
  if (value === undefined) throw new ReplyError(message);
  return value;
}

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A double per `strtod` as Redis uses it, or undefined. */
export function tryDouble(arg: Buffer): number | undefined {
  if (arg.length === 0 || arg.length > 5000) return undefined;
  const text = arg.toString('latin1');
  const lowerText = text.toLowerCase();
  if (lowerText === 'inf' || lowerText === '+inf' || lowerText === 'infinity' || lowerText === '+infinity') {
    return Number.POSITIVE_INFINITY;
  }
  if (lowerText === '-inf' || lowerText === '-infinity') return Number.NEGATIVE_INFINITY;
  if (!FLOAT_RE.test(text)) return undefined;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** A blocking timeout in seconds (may be fractional) → ms; 0 means forever. */
export function parseTimeoutSeconds(arg: Buffer | undefined): number {
  const seconds = arg === undefined ? undefined : tryDouble(arg);
  if (seconds === undefined || !Number.isFinite(seconds)) throw new ReplyError(ERR_TIMEOUT_NOT_FLOAT);
  if (seconds < 0) throw new ReplyError(ERR_TIMEOUT_NEGATIVE);
  return Math.ceil(seconds * 1000);
}

/** A blocking timeout in milliseconds (XREAD BLOCK); 0 means forever. */
export function parseTimeoutMs(arg: Buffer | undefined): number {
  const ms = parseInteger(arg, ERR_TIMEOUT_NOT_FLOAT.replace('a float', 'an integer'));
  if (ms < 0) throw new ReplyError(ERR_TIMEOUT_NEGATIVE);
  return ms;
}

/** Shorthand for a CommandSpec: `command('get', 2, ['readonly', 'fast'], [1, 1, 1], ['read', 'string', 'fast'], handler)`. */
export function command(
  name: string,
  arity: number,
  flags: readonly string[],
  keys: readonly [number, number, number],
  categories: readonly CommandCategory[],
  handler: CommandHandler,
  extra: { subcommands?: Record<string, CommandSpec>; keys?: (args: Buffer[]) => number[] } = {},
): CommandSpec {
  const spec: CommandSpec = {
    name,
    arity,
    flags,
    firstKey: keys[0],
    lastKey: keys[1],
    step: keys[2],
    categories,
    handler,
    ...(extra.subcommands ? { subcommands: extra.subcommands } : {}),
    ...(extra.keys ? { keys: extra.keys } : {}),
  };
  return spec;
}

/** Subcommand specs keyed by lower-case name (`name` is `parent|sub`). */
export function subcommands(parent: string, specs: CommandSpec[]): Record<string, CommandSpec> {
  const out: Record<string, CommandSpec> = {};
  for (const spec of specs) out[spec.name.slice(parent.length + 1)] = spec;
  return out;
}

/** The handler of a container command, unused once subcommands resolve. */
export const containerHandler: CommandHandler = (ctx) => {
  ctx.out.error('ERR unknown subcommand');
  return undefined;
};
