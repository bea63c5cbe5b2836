import {
  ConsumerGroup,
  compareIds,
  ENTRIES_READ_UNKNOWN,
  idText,
  isZeroId,
  MAX_ID,
  type NodeLimits,
  nextId,
  PendingEntry,
  previousId,
  Stream,
  type StreamEntry,
  type StreamId,
  type TrimSpec,
  U64_MAX,
  ZERO_ID,
} from '../data/stream.js';
import { compact, type Stored, writeStored } from '../data/string.js';
import { parseStrictInteger } from '../resp/parser.js';
import {
  type Block,
  type CommandCategory,
  type CommandContext,
  type CommandFamily,
  type CommandHandler,
  type CommandSpec,
  ReplyError,
  type ReplyWriter,
  WrongTypeError,
} from '../types.js';

/**
 * The stream commands of Redis 7.0 with consumer groups: XADD, XRANGE, XREVRANGE, XLEN, XDEL,
 * XTRIM, XREAD, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XGROUP, XINFO, XSETID, with
 * Redis's replies and error texts. Idle and delivery times come from the server clock.
 *
 * Commands whose effect depends on the clock or on generated ids (XADD `*`, approximate trims,
 * XCLAIM, XAUTOCLAIM) rewrite their argument array to a deterministic equivalent, as Redis does
 * before propagating them, so the AOF replays what happened.
 */

// ---------------------------------------------------------------------------------------------
// Errors and argument parsing.

const ERR_SYNTAX = 'ERR syntax error';
const ERR_NOT_INTEGER = 'ERR value is not an integer or out of range';
const ERR_INVALID_ID = 'ERR Invalid stream ID specified as stream command argument';
const ERR_ID_TOO_SMALL = 'ERR The ID specified in XADD is equal or smaller than the target stream top item';
const ERR_NO_SUCH_KEY = 'ERR no such key';

function str(arg: Buffer): string {
  return arg.toString('latin1');
}

function lower(arg: Buffer | undefined): string {
  return arg === undefined ? '' : arg.toString('latin1').toLowerCase();
}

function isText(arg: Buffer | undefined, text: string): boolean {
  if (arg === undefined || arg.length !== text.length) return false;
  for (let i = 0; i < arg.length; i++) if (arg[i] !== text.charCodeAt(i)) return false;
  return true;
}

function wrongArity(name: string): ReplyError {
  return new ReplyError(`ERR wrong number of arguments for '${name}' command`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const CANONICAL_INT = /^(?:0|-?[1-9][0-9]*)$/;

/** A signed 64-bit integer as Redis's string2ll reads it; undefined when it is not one. */
function int64Of(arg: Buffer): bigint | undefined {
  if (arg.length === 0 || arg.length > 20) return undefined;
  const text = arg.toString('latin1');
  if (!CANONICAL_INT.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

/** getLongLongFromObjectOrReply: a number (exact up to 2^53), else `message`. */
function parseLong(arg: Buffer | undefined, message = ERR_NOT_INTEGER): number {
  if (arg !== undefined && arg.length > 0 && arg.length < 16) {
    // Canonical decimal (no sign but '-', no leading zeros), read from the bytes.
    const value = parseStrictInteger(arg, 0, arg.length);
    if (!Number.isNaN(value)) return value;
  }
  const value = arg === undefined ? undefined : int64Of(arg);
  if (value === undefined) throw new ReplyError(message);
  return Number(value);
}

const U64_TEXT = /^\s*([+-]?)([0-9]+)$/;

/** An unsigned 64-bit integer as Redis's string2ull (string2ll, then strtoull) reads it. */
function u64Of(text: string): bigint | undefined {
  // Plain digits (leading zeros too: strtoull takes them).
  if (text.length > 0 && text.length < 16 && /^[0-9]+$/.test(text)) return BigInt(text);
  const signed = CANONICAL_INT.test(text) && text.length <= 20 ? BigInt(text) : undefined;
  if (signed !== undefined && signed >= INT64_MIN && signed <= INT64_MAX)
    return signed < 0n ? undefined : signed;
  const match = U64_TEXT.exec(text);
  if (match === null) return undefined;
  const magnitude = BigInt(match[2] as string);
  if (magnitude > U64_MAX) return undefined;
  return match[1] === '-' ? (U64_MAX + 1n - magnitude) & U64_MAX : magnitude;
}

interface ParsedId {
  id: StreamId;
  /** False for `<ms>-*`. */
  seqGiven: boolean;
}

/**
 * Redis's streamGenericParseIDOrReply. `strict` refuses `-` and `+`; `allowSeqStar` accepts
 * `<ms>-*` (XADD). Undefined when invalid.
 */
function tryParseId(
  arg: Buffer,
  missingSeq: bigint,
  strict: boolean,
  allowSeqStar = false,
): ParsedId | undefined {
  if (arg.length > 127) return undefined;
  const text = arg.toString('latin1');
  if (text === '-') return strict ? undefined : { id: ZERO_ID, seqGiven: true };
  if (text === '+') return strict ? undefined : { id: MAX_ID, seqGiven: true };
  const dash = text.indexOf('-');
  const msText = dash < 0 ? text : text.slice(0, dash);
  const ms = u64Of(msText);
  if (ms === undefined) return undefined;
  if (dash < 0) return { id: { ms, seq: missingSeq }, seqGiven: true };
  const seqText = text.slice(dash + 1);
  if (allowSeqStar && seqText === '*') return { id: { ms, seq: 0n }, seqGiven: false };
  const seq = u64Of(seqText);
  if (seq === undefined) return undefined;
  return { id: { ms, seq }, seqGiven: true };
}

function parseId(arg: Buffer | undefined, missingSeq: bigint, strict: boolean): StreamId {
  const parsed = arg === undefined ? undefined : tryParseId(arg, missingSeq, strict);
  if (parsed === undefined) throw new ReplyError(ERR_INVALID_ID);
  return parsed.id;
}

/** An interval bound: `(` makes it exclusive (then `-`/`+` are invalid). */
function parseBound(arg: Buffer, missingSeq: bigint, start: boolean): StreamId {
  const exclusive = arg.length > 1 && arg[0] === 40;
  if (!exclusive) return parseId(arg, missingSeq, false);
  const id = parseId(arg.subarray(1), missingSeq, true);
  const moved = start ? nextId(id) : previousId(id);
  if (moved === undefined) {
    throw new ReplyError(
      start ? 'ERR invalid start ID for the interval' : 'ERR invalid end ID for the interval',
    );
  }
  return moved;
}

function subcommandSyntax(args: Buffer[]): ReplyError {
  const parent = str(args[0] as Buffer).toUpperCase();
  const sub = str(args[1] as Buffer).slice(0, 128);
  return new ReplyError(
    `ERR unknown subcommand or wrong number of arguments for '${sub}'. Try ${parent} HELP.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Keyspace access.

function streamAt(ctx: CommandContext, key: string): Stream | undefined {
  return ctx.db.getTyped(key, 'stream')?.value as Stream | undefined;
}

/** The last limits parsed, by the config texts they came from (XADD reads them every call). */
let cachedLimits: { entriesText: string | undefined; bytesText: string | undefined; limits: NodeLimits } = {
  entriesText: undefined,
  bytesText: undefined,
  limits: { maxEntries: 100, maxBytes: 4096 },
};

function nodeLimits(ctx: CommandContext): NodeLimits {
  const config = ctx.server.config;
  const entriesText = config.get('stream-node-max-entries');
  const bytesText = config.get('stream-node-max-bytes');
  if (entriesText === cachedLimits.entriesText && bytesText === cachedLimits.bytesText)
    return cachedLimits.limits;
  const entries = Number(entriesText ?? 100);
  let bytes = Number(bytesText ?? 4096);
  if (!(bytes > 0) || bytes > 1 << 30) bytes = 1 << 30;
  const limits = { maxEntries: Number.isFinite(entries) && entries >= 0 ? entries : 100, maxBytes: bytes };
  cachedLimits = { entriesText, bytesText, limits };
  return limits;
}

// ---------------------------------------------------------------------------------------------
// Reply helpers.

function writeEntry(out: ReplyWriter, entry: StreamEntry): void {
  out.array(2);
  out.bulk(entry.id);
  const fields = entry.fields;
  out.array(fields.length);
  for (let i = 0; i < fields.length; i++) writeStored(out, fields[i] as Stored);
}

function writeEntries(out: ReplyWriter, entries: readonly StreamEntry[]): void {
  out.array(entries.length);
  for (const entry of entries) writeEntry(out, entry);
}

function writeEntryOrNull(out: ReplyWriter, entry: StreamEntry | undefined): void {
  if (entry === undefined) out.nullBulk();
  else writeEntry(out, entry);
}

function name(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// XADD / XTRIM

interface AddTrimArgs {
  trim: TrimSpec | undefined;
  noMkStream: boolean;
  /** Index of the id argument (XADD). */
  idPos: number;
  id: ParsedId | undefined;
}

/** Redis's streamParseAddOrTrimArgsOrReply. */
function parseAddTrim(args: Buffer[], xadd: boolean): AddTrimArgs {
  let strategy: 'maxlen' | 'minid' | undefined;
  let approx = false;
  let maxLen = 0;
  let minId: StreamId = ZERO_ID;
  let limit = 0;
  let limitGiven = false;
  let noMkStream = false;
  let id: ParsedId | undefined;
  let i = 2;
  for (; i < args.length; i++) {
    const arg = args[i] as Buffer;
    const more = args.length - 1 - i;
    if (xadd && arg.length === 1 && arg[0] === 42) break;
    // The option names are 5 to 10 bytes: anything else (most ids) needs no lower-casing.
    const opt = arg.length >= 5 && arg.length <= 10 ? lower(arg) : '';
    if (opt === 'maxlen' && more > 0) {
      if (strategy !== undefined) {
        throw new ReplyError(
          'ERR syntax error, MAXLEN and MINID options at the same time are not compatible',
        );
      }
      approx = false;
      const next = args[i + 1] as Buffer;
      if (more >= 2 && isText(next, '~')) {
        approx = true;
        i++;
      } else if (more >= 2 && isText(next, '=')) i++;
      maxLen = parseLong(args[i + 1]);
      if (maxLen < 0) throw new ReplyError('ERR The MAXLEN argument must be >= 0.');
      i++;
      strategy = 'maxlen';
    } else if (opt === 'minid' && more > 0) {
      if (strategy !== undefined) {
        throw new ReplyError(
          'ERR syntax error, MAXLEN and MINID options at the same time are not compatible',
        );
      }
      approx = false;
      const next = args[i + 1] as Buffer;
      if (more >= 2 && isText(next, '~')) {
        approx = true;
        i++;
      } else if (more >= 2 && isText(next, '=')) i++;
      minId = parseId(args[i + 1], 0n, true);
      i++;
      strategy = 'minid';
    } else if (opt === 'limit' && more > 0) {
      limit = parseLong(args[i + 1]);
      if (limit < 0) throw new ReplyError('ERR The LIMIT argument must be >= 0.');
      limitGiven = true;
      i++;
    } else if (xadd && opt === 'nomkstream') {
      noMkStream = true;
    } else if (xadd) {
      id = tryParseId(arg, 0n, true, true);
      if (id === undefined) throw new ReplyError(ERR_INVALID_ID);
      break;
    } else {
      throw new ReplyError(ERR_SYNTAX);
    }
  }
  if (limit !== 0 && strategy === undefined) {
    throw new ReplyError('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  }
  if (!xadd && strategy === undefined) {
    throw new ReplyError('ERR syntax error, XTRIM must be called with a trimming strategy');
  }
  if (limitGiven) {
    if (!approx) throw new ReplyError('ERR syntax error, LIMIT cannot be used without the special ~ option');
  } else {
    limit = approx ? 10_000 : 0;
  }
  let trim: TrimSpec | undefined;
  if (strategy === 'maxlen') trim = { strategy, maxLen, approx, limit };
  else if (strategy === 'minid') trim = { strategy, minId, approx, limit };
  return { trim, noMkStream, idPos: i, id };
}

/** The trim as an exact, replayable `MAXLEN = n` / `MINID = id` (Redis rewrites `~` likewise). */
function exactTrimArgs(trim: TrimSpec, stream: Stream): Buffer[] {
  if (trim.strategy === 'maxlen') {
    const keep = trim.approx ? stream.length : trim.maxLen;
    return [Buffer.from('MAXLEN'), Buffer.from('='), Buffer.from(String(keep))];
  }
  const bound = trim.approx ? stream.firstId : trim.minId;
  return [Buffer.from('MINID'), Buffer.from('='), Buffer.from(idText(bound))];
}

const xadd: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const parsed = parseAddTrim(args, true);
  const fieldPos = parsed.idPos + 1;
  const fieldCount = args.length - fieldPos;
  if (fieldCount < 2 || fieldCount % 2 === 1) throw wrongArity('xadd');
  const given = parsed.id;
  if (given?.seqGiven && isZeroId(given.id)) {
    throw new ReplyError('ERR The ID specified in XADD must be greater than 0-0');
  }
  let stream = streamAt(ctx, key);
  let created = false;
  if (stream === undefined) {
    if (parsed.noMkStream) {
      ctx.out.nullBulk();
      return undefined;
    }
    stream = new Stream();
    created = true;
  }
  const last = stream.lastId;
  if (last.ms === U64_MAX && last.seq === U64_MAX) {
    throw new ReplyError('ERR The stream has exhausted the last possible ID, unable to add more items');
  }
  let id: StreamId | undefined;
  if (given === undefined) {
    const now = BigInt(Math.floor(ctx.now()));
    id = now > last.ms ? { ms: now, seq: 0n } : nextId(last);
  } else if (given.seqGiven) {
    id = given.id;
  } else if (given.id.ms === last.ms) {
    id = last.seq === U64_MAX ? undefined : { ms: last.ms, seq: last.seq + 1n };
  } else {
    id = given.id;
  }
  if (id === undefined || compareIds(id, last) <= 0) throw new ReplyError(ERR_ID_TOO_SMALL);
  // The request's buffers are views of the read buffer: keep copies in stored form.
  const fields: Stored[] = new Array(fieldCount);
  for (let i = fieldPos; i < args.length; i++) fields[i - fieldPos] = compact(args[i] as Buffer);
  const entry = stream.append(id, fields, nodeLimits(ctx));
  if (created) ctx.db.set(key, { type: 'stream', value: stream, expiresAt: undefined });
  ctx.out.bulk(entry.id);
  if (parsed.trim !== undefined) stream.trim(parsed.trim);
  // Replayable form: the concrete id and an exact trim (only when something records commands).
  if (
    ctx.server.propagating !== false &&
    (given === undefined || !given.seqGiven || parsed.trim !== undefined)
  ) {
    const rewritten: Buffer[] = [args[0] as Buffer, args[1] as Buffer];
    if (parsed.noMkStream) rewritten.push(Buffer.from('NOMKSTREAM'));
    if (parsed.trim !== undefined) rewritten.push(...exactTrimArgs(parsed.trim, stream));
    rewritten.push(Buffer.from(entry.id));
    for (let i = fieldPos; i < args.length; i++) rewritten.push(args[i] as Buffer);
    args.length = 0;
    args.push(...rewritten);
  }
  ctx.db.touch(key, true);
  return undefined;
};

const xtrim: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const parsed = parseAddTrim(args, false);
  const stream = streamAt(ctx, key);
  if (stream === undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  const trim = parsed.trim as TrimSpec;
  const removed = stream.trim(trim);
  ctx.out.integer(removed);
  if (removed > 0) {
    const rewritten = [args[0] as Buffer, args[1] as Buffer, ...exactTrimArgs(trim, stream)];
    args.length = 0;
    args.push(...rewritten);
    ctx.db.touch(key);
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// XRANGE / XREVRANGE / XLEN / XDEL

function rangeCommand(reverse: boolean): CommandHandler {
  return (ctx, args) => {
    const startArg = (reverse ? args[3] : args[2]) as Buffer;
    const endArg = (reverse ? args[2] : args[3]) as Buffer;
    const start = parseBound(startArg, 0n, true);
    const end = parseBound(endArg, U64_MAX, false);
    let count = -1;
    for (let j = 4; j < args.length; j++) {
      if (lower(args[j]) === 'count' && j + 1 < args.length) {
        count = parseLong(args[j + 1]);
        if (count < 0) count = 0;
        j++;
      } else throw new ReplyError(ERR_SYNTAX);
    }
    const stream = streamAt(ctx, str(args[1] as Buffer));
    if (stream === undefined) {
      ctx.out.array(0);
      return undefined;
    }
    if (count === 0) {
      ctx.out.nullArray();
      return undefined;
    }
    writeEntries(ctx.out, stream.range(start, end, Math.max(count, 0), reverse));
    return undefined;
  };
}

const xlen: CommandHandler = (ctx, args) => {
  ctx.out.integer(streamAt(ctx, str(args[1] as Buffer))?.length ?? 0);
  return undefined;
};

const xdel: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const stream = streamAt(ctx, key);
  if (stream === undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  const ids: StreamId[] = [];
  for (let j = 2; j < args.length; j++) ids.push(parseId(args[j], 0n, true));
  let deleted = 0;
  for (const id of ids) if (stream.delete(id)) deleted += 1;
  if (deleted > 0) ctx.db.touch(key);
  ctx.out.integer(deleted);
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// XREAD / XREADGROUP

/** `>`: deliver entries never delivered to the group. */
const NEW_ENTRIES: StreamId = MAX_ID;

interface ReadRequest {
  readonly command: string;
  readonly keys: string[];
  /** Per key: serve entries with ids above this (for `>`: the group's last id when served). */
  readonly after: StreamId[];
  readonly count: number;
  readonly group: { readonly name: string; readonly consumer: string; readonly noAck: boolean } | undefined;
}

function readKeys(args: Buffer[]): number[] {
  const at = streamsArgIndex(args);
  if (at < 0) return [];
  const count = Math.floor((args.length - at) / 2);
  const keys: number[] = [];
  for (let i = 0; i < count; i++) keys.push(at + i);
  return keys;
}

/** Index of the first key after STREAMS, found as XREAD's option parser finds it; -1 if none. */
function streamsArgIndex(args: Buffer[]): number {
  for (let i = 1; i < args.length; i++) {
    const opt = lower(args[i]);
    const more = args.length - i - 1;
    if ((opt === 'block' || opt === 'count') && more > 0) i++;
    else if (opt === 'group' && more >= 2) i += 2;
    else if (opt === 'streams' && more > 0) return i + 1;
    else if (opt !== 'noack') return -1;
  }
  return -1;
}

function readCommand(grouped: boolean): CommandHandler {
  return (ctx, args) => {
    const command = str(args[0] as Buffer);
    let timeout = -1;
    let count = 0;
    let streamsAt = 0;
    let streamCount = 0;
    let groupName: string | undefined;
    let consumerName = '';
    let noAck = false;
    for (let i = 1; i < args.length; i++) {
      const more = args.length - i - 1;
      const opt = lower(args[i]);
      if (opt === 'block' && more > 0) {
        if (ctx.inScript)
          throw new ReplyError(`ERR ${command} command is not allowed with BLOCK option from scripts`);
        i++;
        timeout = parseLong(args[i], 'ERR timeout is not an integer or out of range');
        if (timeout < 0) throw new ReplyError('ERR timeout is negative');
      } else if (opt === 'count' && more > 0) {
        i++;
        count = parseLong(args[i]);
        if (count < 0) count = 0;
      } else if (opt === 'streams' && more > 0) {
        streamsAt = i + 1;
        streamCount = args.length - streamsAt;
        if (streamCount % 2 !== 0) {
          throw new ReplyError(
            "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
          );
        }
        streamCount /= 2;
        break;
      } else if (opt === 'group' && more >= 2) {
        if (!grouped)
          throw new ReplyError(
            'ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.',
          );
        groupName = str(args[i + 1] as Buffer);
        consumerName = str(args[i + 2] as Buffer);
        i += 2;
      } else if (opt === 'noack') {
        if (!grouped)
          throw new ReplyError(
            'ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.',
          );
        noAck = true;
      } else {
        throw new ReplyError(ERR_SYNTAX);
      }
    }
    if (streamsAt === 0) throw new ReplyError(ERR_SYNTAX);
    if (grouped && groupName === undefined) throw new ReplyError('ERR Missing GROUP option for XREADGROUP');

    const keys: string[] = [];
    const after: StreamId[] = [];
    const groups: (ConsumerGroup | undefined)[] = [];
    for (let i = 0; i < streamCount; i++) {
      const key = str(args[streamsAt + i] as Buffer);
      const idArg = args[streamsAt + streamCount + i] as Buffer;
      const stream = streamAt(ctx, key);
      keys.push(key);
      let group: ConsumerGroup | undefined;
      if (groupName !== undefined) {
        group = stream?.groups.get(groupName);
        if (group === undefined) {
          throw new ReplyError(
            `NOGROUP No such key '${key}' or consumer group '${groupName}' in XREADGROUP with GROUP option`,
          );
        }
      }
      groups.push(group);
      if (isText(idArg, '$')) {
        if (grouped) {
          throw new ReplyError(
            'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.',
          );
        }
        after.push(stream === undefined ? ZERO_ID : stream.lastId);
      } else if (isText(idArg, '>')) {
        if (!grouped) {
          throw new ReplyError(
            'ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.',
          );
        }
        after.push(NEW_ENTRIES);
      } else {
        after.push(parseId(idArg, 0n, true));
      }
    }

    const request: ReadRequest = {
      command,
      keys,
      after,
      count,
      group: groupName === undefined ? undefined : { name: groupName, consumer: consumerName, noAck },
    };
    if (serveNow(ctx, request, groups)) return undefined;
    if (timeout !== -1 && !ctx.noBlock) return blockRead(request, timeout);
    ctx.out.nullArray();
    return undefined;
  };
}

/** Serves what can be served at once (Redis's synchronous XREAD path); false when nothing. */
function serveNow(ctx: CommandContext, request: ReadRequest, groups: (ConsumerGroup | undefined)[]): boolean {
  const served: number[] = [];
  const starts: StreamId[] = [];
  const history: boolean[] = [];
  for (let i = 0; i < request.keys.length; i++) {
    const stream = streamAt(ctx, request.keys[i] as string);
    if (stream === undefined) continue;
    const group = groups[i];
    let after = request.after[i] as StreamId;
    let serve = false;
    let fromHistory = false;
    if (group !== undefined) {
      if (after !== NEW_ENTRIES) {
        serve = true;
        fromHistory = true;
      } else if (stream.length > 0 && compareIds(stream.lastValidId(), group.lastId) > 0) {
        serve = true;
        after = group.lastId;
      }
    } else if (stream.length > 0 && compareIds(stream.lastValidId(), after) > 0) {
      serve = true;
    }
    if (!serve) continue;
    served.push(i);
    starts.push(after);
    history.push(fromHistory);
  }
  if (served.length === 0) return false;
  writeReadReply(ctx, request, served, starts, history);
  return true;
}

/** Writes XREAD's reply for the keys at `served`, delivering to the group when there is one. */
function writeReadReply(
  ctx: CommandContext,
  request: ReadRequest,
  served: number[],
  starts: StreamId[],
  history: boolean[],
): void {
  const out = ctx.out;
  if (out.protocol === 2) out.array(served.length);
  else out.map(served.length);
  const now = ctx.now();
  for (let n = 0; n < served.length; n++) {
    const i = served[n] as number;
    const key = request.keys[i] as string;
    const stream = streamAt(ctx, key) as Stream;
    if (out.protocol === 2) out.array(2);
    out.bulk(name(key));
    const start = nextId(starts[n] as StreamId);
    const groupSpec = request.group;
    if (groupSpec === undefined) {
      writeEntries(out, start === undefined ? [] : stream.range(start, MAX_ID, request.count, false));
      continue;
    }
    const group = stream.groups.get(groupSpec.name) as ConsumerGroup;
    const consumer = group.consumer(groupSpec.consumer, now);
    if (history[n]) {
      // The consumer's own pending entries from `start`.
      const items: PendingEntry[] = [];
      if (start !== undefined) {
        for (const item of consumer.pending.from(start)) {
          items.push(item);
          if (request.count > 0 && items.length >= request.count) break;
        }
      }
      out.array(items.length);
      for (const item of items) {
        const entry = stream.find(item);
        if (entry === undefined) {
          out.array(2);
          out.bulk(item.id);
          out.nullArray();
        } else {
          writeEntry(out, entry);
          item.deliveryTime = now;
          item.deliveryCount += 1;
        }
      }
    } else {
      const entries = start === undefined ? [] : stream.range(start, MAX_ID, request.count, false);
      out.array(entries.length);
      for (const entry of entries) {
        if (compareIds(entry, group.lastId) > 0) {
          if (group.entriesRead !== ENTRIES_READ_UNKNOWN && !stream.rangeHasTombstones(entry)) {
            group.entriesRead += 1;
          } else if (stream.entriesAdded > 0) {
            group.entriesRead = stream.estimateDistance(entry);
          }
          group.lastId = { ms: entry.ms, seq: entry.seq };
        }
        writeEntry(out, entry);
        if (!groupSpec.noAck) {
          const existing = group.pending.get(entry.id);
          if (existing === undefined) {
            const item = new PendingEntry(entry.ms, entry.seq, entry.id, consumer, now, 1);
            group.pending.add(item);
            consumer.pending.add(item);
          } else {
            existing.consumer?.pending.delete(entry.id);
            existing.consumer = consumer;
            existing.deliveryTime = now;
            existing.deliveryCount = 1;
            consumer.pending.add(existing);
          }
        }
      }
    }
    ctx.db.touch(key);
  }
}

function blockRead(request: ReadRequest, timeoutMs: number): Block {
  return {
    kind: 'block',
    keys: request.keys,
    timeoutMs,
    retry: (ctx) => {
      try {
        return retryRead(ctx, request);
      } catch (error) {
        if (error instanceof ReplyError || error instanceof WrongTypeError) {
          ctx.out.error(error.message);
          return true;
        }
        throw error;
      }
    },
    timeout: (ctx) => ctx.out.nullArray(),
  };
}

/** A blocked read's retry: serves keys whose stream moved past what the client waits for. */
function retryRead(ctx: CommandContext, request: ReadRequest): boolean {
  const served: number[] = [];
  const starts: StreamId[] = [];
  const history: boolean[] = [];
  for (let i = 0; i < request.keys.length; i++) {
    const key = request.keys[i] as string;
    const entry = ctx.db.get(key);
    if (entry === undefined || entry.type !== 'stream') continue;
    const stream = entry.value as Stream;
    let after = request.after[i] as StreamId;
    if (request.group !== undefined) {
      const group = stream.groups.get(request.group.name);
      if (group === undefined) {
        ctx.out.error('NOGROUP the consumer group this client was blocked on no longer exists');
        return true;
      }
      after = group.lastId;
    }
    if (compareIds(stream.lastId, after) > 0) {
      served.push(i);
      starts.push(after);
      history.push(false);
    }
  }
  if (served.length === 0) return false;
  writeReadReply(ctx, request, served, starts, history);
  return true;
}

// ---------------------------------------------------------------------------------------------
// XACK / XPENDING / XCLAIM / XAUTOCLAIM

function noGroup(key: string, group: string): ReplyError {
  return new ReplyError(`NOGROUP No such key '${key}' or consumer group '${group}'`);
}

const xack: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const group = streamAt(ctx, key)?.groups.get(str(args[2] as Buffer));
  if (group === undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  const ids: string[] = [];
  for (let j = 3; j < args.length; j++) ids.push(idText(parseId(args[j], 0n, true)));
  let acknowledged = 0;
  for (const id of ids) if (group.acknowledge(id)) acknowledged += 1;
  if (acknowledged > 0) ctx.db.touch(key);
  ctx.out.integer(acknowledged);
  return undefined;
};

const xpending: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const groupName = str(args[2] as Buffer);
  const summary = args.length === 3;
  if (args.length !== 3 && (args.length < 6 || args.length > 9)) throw new ReplyError(ERR_SYNTAX);
  let start = ZERO_ID;
  let end = MAX_ID;
  let count = 0;
  let minIdle = 0;
  let consumerName: string | undefined;
  if (args.length >= 6) {
    let at = 3;
    if (lower(args[3]) === 'idle') {
      minIdle = parseLong(args[4]);
      if (args.length < 8) throw new ReplyError(ERR_SYNTAX);
      at += 2;
    }
    count = parseLong(args[at + 2]);
    if (count < 0) count = 0;
    start = parseBound(args[at] as Buffer, 0n, true);
    end = parseBound(args[at + 1] as Buffer, U64_MAX, false);
    if (at + 3 < args.length) consumerName = str(args[at + 3] as Buffer);
  }
  const group = streamAt(ctx, key)?.groups.get(groupName);
  if (group === undefined) throw noGroup(key, groupName);
  const out = ctx.out;
  if (summary) {
    out.array(4);
    out.integer(group.pending.size);
    const first = group.pending.first();
    const last = group.pending.last();
    if (first === undefined || last === undefined) {
      out.nullBulk();
      out.nullBulk();
      out.nullArray();
      return undefined;
    }
    out.bulk(first.id);
    out.bulk(last.id);
    const busy = group.sortedConsumers().filter((consumer) => consumer.pending.size > 0);
    out.array(busy.length);
    for (const consumer of busy) {
      out.array(2);
      out.bulk(name(consumer.name));
      out.bulk(String(consumer.pending.size));
    }
    return undefined;
  }
  let list = group.pending;
  if (consumerName !== undefined) {
    const consumer = group.consumers.get(consumerName);
    if (consumer === undefined) {
      out.array(0);
      return undefined;
    }
    list = consumer.pending;
  }
  const now = ctx.now();
  const items: PendingEntry[] = [];
  if (count > 0) {
    for (const item of list.from(start)) {
      if (compareIds(item, end) > 0) break;
      if (minIdle !== 0 && now - item.deliveryTime < minIdle) continue;
      items.push(item);
      if (items.length >= count) break;
    }
  }
  out.array(items.length);
  for (const item of items) {
    out.array(4);
    out.bulk(item.id);
    out.bulk(name((item.consumer as { name: string }).name));
    out.integer(Math.max(0, now - item.deliveryTime));
    out.integer(item.deliveryCount);
  }
  return undefined;
};

const xclaim: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const groupName = str(args[2] as Buffer);
  const stream = streamAt(ctx, key);
  const group = stream?.groups.get(groupName);
  if (stream === undefined || group === undefined) throw noGroup(key, groupName);
  let minIdle = parseLong(args[4], 'ERR Invalid min-idle-time argument for XCLAIM');
  if (minIdle < 0) minIdle = 0;
  const ids: StreamId[] = [];
  let j = 5;
  for (; j < args.length; j++) {
    const parsed = tryParseId(args[j] as Buffer, 0n, true);
    if (parsed === undefined) break;
    ids.push(parsed.id);
  }
  const now = ctx.now();
  let force = false;
  let justId = false;
  let deliveryTime = -1;
  let retryCount = -1;
  let lastId = ZERO_ID;
  const options: Buffer[] = [];
  for (; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = lower(args[j]);
    if (opt === 'force') {
      force = true;
      options.push(args[j] as Buffer);
    } else if (opt === 'justid') {
      justId = true;
      options.push(args[j] as Buffer);
    } else if (opt === 'idle' && more > 0) {
      j++;
      deliveryTime = now - parseLong(args[j], 'ERR Invalid IDLE option argument for XCLAIM');
    } else if (opt === 'time' && more > 0) {
      j++;
      deliveryTime = parseLong(args[j], 'ERR Invalid TIME option argument for XCLAIM');
    } else if (opt === 'retrycount' && more > 0) {
      j++;
      retryCount = parseLong(args[j], 'ERR Invalid RETRYCOUNT option argument for XCLAIM');
      options.push(args[j - 1] as Buffer, args[j] as Buffer);
    } else if (opt === 'lastid' && more > 0) {
      j++;
      lastId = parseId(args[j], 0n, true);
      options.push(args[j - 1] as Buffer, args[j] as Buffer);
    } else {
      throw new ReplyError(`ERR Unrecognized XCLAIM option '${str(args[j] as Buffer)}'`);
    }
  }
  let changed = false;
  if (compareIds(lastId, group.lastId) > 0) {
    group.lastId = lastId;
    changed = true;
  }
  if (deliveryTime === -1 || deliveryTime < 0 || deliveryTime > now) deliveryTime = now;

  const consumerName = str(args[3] as Buffer);
  const touched: string[] = [];
  const out = ctx.out;
  const replies: (StreamEntry | string)[] = [];
  for (const id of ids) {
    const text = idText(id);
    let item = group.pending.get(text);
    const entry = stream.find(id);
    if (entry === undefined) {
      if (item !== undefined) {
        group.acknowledge(text);
        touched.push(text);
      }
      continue;
    }
    if (force && item === undefined) {
      item = new PendingEntry(id.ms, id.seq, text, undefined, now, 1);
      group.pending.add(item);
    }
    if (item === undefined) continue;
    if (item.consumer !== undefined && minIdle !== 0 && now - item.deliveryTime < minIdle) continue;
    const consumer = group.consumer(consumerName, now);
    if (item.consumer !== consumer) item.consumer?.pending.delete(text);
    item.deliveryTime = deliveryTime;
    if (retryCount >= 0) item.deliveryCount = retryCount;
    else if (!justId) item.deliveryCount += 1;
    if (item.consumer !== consumer) {
      consumer.pending.add(item);
      item.consumer = consumer;
    }
    replies.push(justId ? text : entry);
    touched.push(text);
  }
  out.array(replies.length);
  for (const reply of replies) {
    if (typeof reply === 'string') out.bulk(reply);
    else writeEntry(out, reply);
  }
  if (touched.length > 0 || changed) {
    // Replayable: only the ids acted on, no idle filter, the delivery time fixed.
    const rewritten: Buffer[] = [args[0] as Buffer, args[1] as Buffer, args[2] as Buffer, args[3] as Buffer];
    rewritten.push(Buffer.from('0'), ...touched.map((id) => Buffer.from(id)));
    rewritten.push(Buffer.from('TIME'), Buffer.from(String(deliveryTime)), ...options);
    args.length = 0;
    args.push(...rewritten);
    ctx.db.touch(key);
  }
  return undefined;
};

const xautoclaim: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const groupName = str(args[2] as Buffer);
  let minIdle = parseLong(args[4], 'ERR Invalid min-idle-time argument for XAUTOCLAIM');
  if (minIdle < 0) minIdle = 0;
  const start = parseBound(args[5] as Buffer, 0n, true);
  let count = 100;
  let justId = false;
  for (let j = 6; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = lower(args[j]);
    if (opt === 'count' && more > 0) {
      const value = int64Of(args[j + 1] as Buffer);
      if (value === undefined || value < 1n || value > 2n ** 63n / 10n)
        throw new ReplyError('ERR COUNT must be > 0');
      count = Number(value);
      j++;
    } else if (opt === 'justid') {
      justId = true;
    } else throw new ReplyError(ERR_SYNTAX);
  }
  const stream = streamAt(ctx, key);
  const group = stream?.groups.get(groupName);
  if (stream === undefined || group === undefined) throw noGroup(key, groupName);

  const now = ctx.now();
  const consumerName = str(args[3] as Buffer);
  let attempts = count * 10;
  const claimed: (StreamEntry | string)[] = [];
  const claimedIds: string[] = [];
  const deleted: string[] = [];
  let cursor = ZERO_ID;
  const iterator = group.pending.from(start);
  let exhausted = false;
  while (attempts > 0 && count > 0) {
    attempts--;
    const next = iterator.next();
    if (next.done) {
      exhausted = true;
      break;
    }
    const item = next.value;
    const entry = stream.find(item);
    if (entry === undefined) {
      group.acknowledge(item.id);
      deleted.push(item.id);
      count--;
      continue;
    }
    if (minIdle !== 0 && now - item.deliveryTime < minIdle) continue;
    const consumer = group.consumer(consumerName, now);
    if (item.consumer !== consumer) item.consumer?.pending.delete(item.id);
    item.deliveryTime = now;
    if (!justId) item.deliveryCount += 1;
    if (item.consumer !== consumer) {
      consumer.pending.add(item);
      item.consumer = consumer;
    }
    claimed.push(justId ? item.id : entry);
    claimedIds.push(item.id);
    count--;
  }
  if (!exhausted) {
    const after = iterator.next();
    if (!after.done) cursor = after.value;
  }
  iterator.return(undefined);

  const out = ctx.out;
  out.array(3);
  out.bulk(idText(cursor));
  out.array(claimed.length);
  for (const reply of claimed) {
    if (typeof reply === 'string') out.bulk(reply);
    else writeEntry(out, reply);
  }
  out.array(deleted.length);
  for (const id of deleted) out.bulk(id);
  if (claimedIds.length > 0 || deleted.length > 0) {
    // Replayable as the XCLAIM of exactly what was claimed or dropped.
    const rewritten: Buffer[] = [
      Buffer.from('XCLAIM'),
      args[1] as Buffer,
      args[2] as Buffer,
      args[3] as Buffer,
      Buffer.from('0'),
      ...deleted.map((id) => Buffer.from(id)),
      ...claimedIds.map((id) => Buffer.from(id)),
      Buffer.from('TIME'),
      Buffer.from(String(now)),
    ];
    if (justId) rewritten.push(Buffer.from('JUSTID'));
    args.length = 0;
    args.push(...rewritten);
    ctx.db.touch(key);
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// XGROUP

interface GroupTarget {
  key: string;
  stream: Stream | undefined;
  groupName: string;
  group: ConsumerGroup | undefined;
  mkStream: boolean;
  entriesRead: number;
}

/** The common part of Redis's xgroupCommand: options, key, and the group's existence. */
function groupTarget(ctx: CommandContext, args: Buffer[], needsGroup: boolean): GroupTarget {
  const sub = lower(args[1]);
  let mkStream = false;
  let entriesRead = ENTRIES_READ_UNKNOWN;
  for (let i = 5; i < args.length; ) {
    const opt = lower(args[i]);
    if (sub === 'create' && opt === 'mkstream') {
      mkStream = true;
      i++;
    } else if ((sub === 'create' || sub === 'setid') && opt === 'entriesread' && i + 1 < args.length) {
      entriesRead = parseLong(args[i + 1]);
      if (entriesRead < 0 && entriesRead !== ENTRIES_READ_UNKNOWN) {
        throw new ReplyError('ERR value for ENTRIESREAD must be positive or -1');
      }
      i += 2;
    } else throw subcommandSyntax(args);
  }
  const key = str(args[2] as Buffer);
  const stream = streamAt(ctx, key);
  const groupName = str(args[3] as Buffer);
  if (stream === undefined && !mkStream) {
    throw new ReplyError(
      'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.',
    );
  }
  const group = stream?.groups.get(groupName);
  if (group === undefined && needsGroup) {
    throw new ReplyError(`NOGROUP No such consumer group '${groupName}' for key name '${key}'`);
  }
  return { key, stream, groupName, group, mkStream, entriesRead };
}

const xgroupCreate: CommandHandler = (ctx, args) => {
  if (args.length > 8) throw subcommandSyntax(args);
  const target = groupTarget(ctx, args, false);
  const idArg = args[4] as Buffer;
  let id: StreamId;
  if (isText(idArg, '$')) id = target.stream?.lastId ?? ZERO_ID;
  else id = parseId(idArg, 0n, true);
  let stream = target.stream;
  if (stream === undefined) {
    stream = new Stream();
    ctx.db.set(target.key, { type: 'stream', value: stream, expiresAt: undefined });
  }
  if (stream.groups.has(target.groupName))
    throw new ReplyError('BUSYGROUP Consumer Group name already exists');
  stream.groups.set(target.groupName, new ConsumerGroup(target.groupName, id, target.entriesRead));
  ctx.db.touch(target.key);
  ctx.out.simple('OK');
  return undefined;
};

const xgroupSetId: CommandHandler = (ctx, args) => {
  if (args.length !== 5 && args.length !== 7) throw subcommandSyntax(args);
  const target = groupTarget(ctx, args, true);
  const group = target.group as ConsumerGroup;
  const idArg = args[4] as Buffer;
  const id = isText(idArg, '$') ? (target.stream as Stream).lastId : parseId(idArg, 0n, false);
  group.lastId = id;
  group.entriesRead = target.entriesRead;
  ctx.db.touch(target.key);
  ctx.out.simple('OK');
  return undefined;
};

const xgroupDestroy: CommandHandler = (ctx, args) => {
  const target = groupTarget(ctx, args, false);
  if (target.group === undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  (target.stream as Stream).groups.delete(target.groupName);
  ctx.out.integer(1);
  // Wakes XREADGROUP clients blocked on the group, which then get NOGROUP.
  ctx.db.touch(target.key, true);
  return undefined;
};

const xgroupCreateConsumer: CommandHandler = (ctx, args) => {
  const target = groupTarget(ctx, args, true);
  const group = target.group as ConsumerGroup;
  const consumerName = str(args[4] as Buffer);
  if (group.consumers.has(consumerName)) {
    ctx.out.integer(0);
    return undefined;
  }
  group.consumer(consumerName, ctx.now());
  ctx.db.touch(target.key);
  ctx.out.integer(1);
  return undefined;
};

const xgroupDelConsumer: CommandHandler = (ctx, args) => {
  const target = groupTarget(ctx, args, true);
  const group = target.group as ConsumerGroup;
  const consumer = group.consumers.get(str(args[4] as Buffer));
  if (consumer === undefined) {
    ctx.out.integer(0);
    return undefined;
  }
  const pending = consumer.pending.size;
  for (const item of [...consumer.pending.values()]) group.acknowledge(item.id);
  group.consumers.delete(consumer.name);
  ctx.db.touch(target.key);
  ctx.out.integer(pending);
  return undefined;
};

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Prints this help.',
];

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Prints this help.',
];

function helpCommand(lines: readonly string[]): CommandHandler {
  return (ctx) => {
    ctx.out.array(lines.length);
    for (const line of lines) ctx.out.simple(line);
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// XINFO / XSETID

function infoStream(ctx: CommandContext, args: Buffer[]): Stream {
  const stream = streamAt(ctx, str(args[2] as Buffer));
  if (stream === undefined) throw new ReplyError(ERR_NO_SUCH_KEY);
  return stream;
}

const xinfoStream: CommandHandler = (ctx, args) => {
  const stream = infoStream(ctx, args);
  const extra = args.length - 3;
  let full = false;
  let count = 10;
  if (extra === 1 || extra === 3) {
    if (lower(args[3]) !== 'full') throw subcommandSyntax(args);
    full = true;
    if (extra === 3) {
      if (lower(args[4]) !== 'count') throw subcommandSyntax(args);
      count = parseLong(args[5]);
      if (count < 0) count = 10;
    }
  } else if (extra !== 0) throw subcommandSyntax(args);
  const out = ctx.out;
  const nodes = stream.nodeCount();
  out.map(full ? 9 : 10);
  out.bulk('length');
  out.integer(stream.length);
  out.bulk('radix-tree-keys');
  out.integer(nodes);
  out.bulk('radix-tree-nodes');
  out.integer(nodes + 1);
  out.bulk('last-generated-id');
  out.bulk(idText(stream.lastId));
  out.bulk('max-deleted-entry-id');
  out.bulk(idText(stream.maxDeletedId));
  out.bulk('entries-added');
  out.integer(stream.entriesAdded);
  out.bulk('recorded-first-entry-id');
  out.bulk(idText(stream.firstId));
  if (!full) {
    out.bulk('groups');
    out.integer(stream.groups.size);
    out.bulk('first-entry');
    writeEntryOrNull(out, stream.first());
    out.bulk('last-entry');
    writeEntryOrNull(out, stream.last());
    return undefined;
  }
  out.bulk('entries');
  writeEntries(out, stream.range(ZERO_ID, MAX_ID, count, false));
  out.bulk('groups');
  const groups = stream.sortedGroups();
  out.array(groups.length);
  for (const group of groups) {
    out.map(7);
    out.bulk('name');
    out.bulk(name(group.name));
    out.bulk('last-delivered-id');
    out.bulk(idText(group.lastId));
    out.bulk('entries-read');
    writeEntriesRead(out, group);
    out.bulk('lag');
    writeLag(out, stream, group);
    out.bulk('pel-count');
    out.integer(group.pending.size);
    out.bulk('pending');
    const items = take(group.pending.values(), count);
    out.array(items.length);
    for (const item of items) {
      out.array(4);
      out.bulk(item.id);
      out.bulk(name((item.consumer as { name: string }).name));
      out.integer(item.deliveryTime);
      out.integer(item.deliveryCount);
    }
    out.bulk('consumers');
    const consumers = group.sortedConsumers();
    out.array(consumers.length);
    for (const consumer of consumers) {
      out.map(4);
      out.bulk('name');
      out.bulk(name(consumer.name));
      out.bulk('seen-time');
      out.integer(consumer.seenTime);
      out.bulk('pel-count');
      out.integer(consumer.pending.size);
      out.bulk('pending');
      const own = take(consumer.pending.values(), count);
      out.array(own.length);
      for (const item of own) {
        out.array(3);
        out.bulk(item.id);
        out.integer(item.deliveryTime);
        out.integer(item.deliveryCount);
      }
    }
  }
  return undefined;
};

function take<T>(items: Iterable<T>, count: number): T[] {
  const result: T[] = [];
  for (const item of items) {
    if (count > 0 && result.length >= count) break;
    result.push(item);
  }
  return result;
}

function writeEntriesRead(out: ReplyWriter, group: ConsumerGroup): void {
  if (group.entriesRead === ENTRIES_READ_UNKNOWN) out.nullBulk();
  else out.integer(group.entriesRead);
}

function writeLag(out: ReplyWriter, stream: Stream, group: ConsumerGroup): void {
  const lag = stream.lag(group);
  if (lag === undefined) out.nullBulk();
  else out.integer(lag);
}

const xinfoGroups: CommandHandler = (ctx, args) => {
  const stream = infoStream(ctx, args);
  const out = ctx.out;
  const groups = stream.sortedGroups();
  out.array(groups.length);
  for (const group of groups) {
    out.map(6);
    out.bulk('name');
    out.bulk(name(group.name));
    out.bulk('consumers');
    out.integer(group.consumers.size);
    out.bulk('pending');
    out.integer(group.pending.size);
    out.bulk('last-delivered-id');
    out.bulk(idText(group.lastId));
    out.bulk('entries-read');
    writeEntriesRead(out, group);
    out.bulk('lag');
    writeLag(out, stream, group);
  }
  return undefined;
};

const xinfoConsumers: CommandHandler = (ctx, args) => {
  const stream = infoStream(ctx, args);
  const groupName = str(args[3] as Buffer);
  const group = stream.groups.get(groupName);
  if (group === undefined) {
    throw new ReplyError(
      `NOGROUP No such consumer group '${groupName}' for key name '${str(args[2] as Buffer)}'`,
    );
  }
  const out = ctx.out;
  const now = ctx.now();
  const consumers = group.sortedConsumers();
  out.array(consumers.length);
  for (const consumer of consumers) {
    out.map(3);
    out.bulk('name');
    out.bulk(name(consumer.name));
    out.bulk('pending');
    out.integer(consumer.pending.size);
    out.bulk('idle');
    out.integer(Math.max(0, now - consumer.seenTime));
  }
  return undefined;
};

const xsetid: CommandHandler = (ctx, args) => {
  const key = str(args[1] as Buffer);
  const id = parseId(args[2], 0n, true);
  let entriesAdded = -1;
  let maxDeleted = ZERO_ID;
  for (let i = 3; i < args.length; ) {
    const more = args.length - 1 - i;
    const opt = lower(args[i]);
    if (opt === 'entriesadded' && more > 0) {
      entriesAdded = parseLong(args[i + 1]);
      if (entriesAdded < 0) throw new ReplyError('ERR entries_added must be positive');
      i += 2;
    } else if (opt === 'maxdeletedid' && more > 0) {
      maxDeleted = parseId(args[i + 1], 0n, true);
      if (compareIds(id, maxDeleted) < 0) {
        throw new ReplyError(
          'ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id',
        );
      }
      i += 2;
    } else throw new ReplyError(ERR_SYNTAX);
  }
  const stream = streamAt(ctx, key);
  if (stream === undefined) throw new ReplyError(ERR_NO_SUCH_KEY);
  if (stream.length > 0) {
    if (compareIds(id, stream.lastValidId()) < 0) {
      throw new ReplyError('ERR The ID specified in XSETID is smaller than the target stream top item');
    }
    if (entriesAdded !== -1 && stream.length > entriesAdded) {
      throw new ReplyError(
        'ERR The entries_added specified in XSETID is smaller than the target stream length',
      );
    }
  }
  stream.lastId = id;
  if (entriesAdded !== -1) stream.entriesAdded = entriesAdded;
  if (!isZeroId(maxDeleted)) stream.maxDeletedId = maxDeleted;
  ctx.db.touch(key);
  ctx.out.simple('OK');
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// The table.

function spec(
  specName: string,
  arity: number,
  flags: readonly string[],
  keys: readonly [number, number, number],
  categories: readonly CommandCategory[],
  handler: CommandHandler,
  extra: Partial<Pick<CommandSpec, 'subcommands' | 'keys'>> = {},
): CommandSpec {
  return {
    name: specName,
    arity,
    flags,
    firstKey: keys[0],
    lastKey: keys[1],
    step: keys[2],
    categories,
    handler,
    ...extra,
  };
}

const containerHandler: CommandHandler = (ctx) => {
  ctx.out.error('ERR unknown subcommand');
  return undefined;
};

const writeSlow: readonly CommandCategory[] = ['write', 'stream', 'slow'];
const KEY2: readonly [number, number, number] = [2, 2, 1];

const xgroupSubcommands: Record<string, CommandSpec> = {
  create: spec('xgroup|create', -5, ['write', 'denyoom'], KEY2, writeSlow, xgroupCreate),
  setid: spec('xgroup|setid', -5, ['write'], KEY2, writeSlow, xgroupSetId),
  destroy: spec('xgroup|destroy', 4, ['write'], KEY2, writeSlow, xgroupDestroy),
  createconsumer: spec(
    'xgroup|createconsumer',
    5,
    ['write', 'denyoom'],
    KEY2,
    writeSlow,
    xgroupCreateConsumer,
  ),
  delconsumer: spec('xgroup|delconsumer', 5, ['write'], KEY2, writeSlow, xgroupDelConsumer),
  help: spec('xgroup|help', 2, ['loading', 'stale'], [0, 0, 0], ['stream', 'slow'], helpCommand(XGROUP_HELP)),
};

const readSlow: readonly CommandCategory[] = ['read', 'stream', 'slow'];

const xinfoSubcommands: Record<string, CommandSpec> = {
  stream: spec('xinfo|stream', -3, ['readonly'], KEY2, readSlow, xinfoStream),
  groups: spec('xinfo|groups', 3, ['readonly'], KEY2, readSlow, xinfoGroups),
  consumers: spec('xinfo|consumers', 4, ['readonly'], KEY2, readSlow, xinfoConsumers),
  help: spec('xinfo|help', 2, ['loading', 'stale'], [0, 0, 0], ['stream', 'slow'], helpCommand(XINFO_HELP)),
};

const KEY1: readonly [number, number, number] = [1, 1, 1];

/** The streams commands. */
export const commands: CommandFamily = [
  spec('xadd', -5, ['write', 'denyoom', 'fast'], KEY1, ['write', 'stream', 'fast'], xadd),
  spec('xrange', -4, ['readonly'], KEY1, readSlow, rangeCommand(false)),
  spec('xrevrange', -4, ['readonly'], KEY1, readSlow, rangeCommand(true)),
  spec('xlen', 2, ['readonly', 'fast'], KEY1, ['read', 'stream', 'fast'], xlen),
  spec('xdel', -3, ['write', 'fast'], KEY1, ['write', 'stream', 'fast'], xdel),
  spec('xtrim', -4, ['write'], KEY1, writeSlow, xtrim),
  spec(
    'xread',
    -4,
    ['readonly', 'blocking', 'movablekeys'],
    [0, 0, 0],
    ['read', 'stream', 'slow', 'blocking'],
    readCommand(false),
    { keys: readKeys },
  ),
  spec(
    'xreadgroup',
    -7,
    ['write', 'blocking', 'movablekeys'],
    [0, 0, 0],
    ['write', 'stream', 'slow', 'blocking'],
    readCommand(true),
    { keys: readKeys },
  ),
  spec('xack', -4, ['write', 'fast'], KEY1, ['write', 'stream', 'fast'], xack),
  spec('xpending', -3, ['readonly'], KEY1, readSlow, xpending),
  spec('xclaim', -6, ['write', 'fast'], KEY1, ['write', 'stream', 'fast'], xclaim),
  spec('xautoclaim', -6, ['write', 'fast'], KEY1, ['write', 'stream', 'fast'], xautoclaim),
  spec('xsetid', -3, ['write', 'denyoom', 'fast'], KEY1, ['write', 'stream', 'fast'], xsetid),
  spec('xgroup', -2, [], [0, 0, 0], ['slow'], containerHandler, { subcommands: xgroupSubcommands }),
  spec('xinfo', -2, [], [0, 0, 0], ['slow'], containerHandler, { subcommands: xinfoSubcommands }),
];
