/**
 * The value of a `zset` key: a member → score map beside a skip list ordered by (score, member),
 * with spans for O(log n) rank queries, as Redis's zskiplist. Members are binary strings (latin1),
 * so JS string comparison orders them as memcmp does.
 */

const MAX_LEVEL = 32;
const P = 0.25;

interface SkipNode {
  member: string;
  score: number;
  backward: SkipNode | undefined;
  forward: (SkipNode | undefined)[];
  span: number[];
}

function newNode(level: number, score: number, member: string): SkipNode {
  return {
    member,
    score,
    backward: undefined,
    forward: new Array<SkipNode | undefined>(level).fill(undefined),
    span: new Array<number>(level).fill(0),
  };
}

/** Scratch arrays for insert/unlink (single-threaded and never re-entered: no allocation per call). */
const UPDATE = new Array<SkipNode | undefined>(MAX_LEVEL).fill(undefined);
const RANK = new Array<number>(MAX_LEVEL).fill(0);

function randomLevel(): number {
  let level = 1;
  while (level < MAX_LEVEL && Math.random() < P) level++;
  return level;
}

/** True when (score, member) sorts before (s2, m2). */
function before(score: number, member: string, s2: number, m2: string): boolean {
  return score < s2 || (score === s2 && member < m2);
}

/** A score interval as ZRANGEBYSCORE reads it (`(` makes a bound exclusive). */
export interface ScoreRange {
  min: number;
  max: number;
  minExclusive: boolean;
  maxExclusive: boolean;
}

/** A lexicographic interval as ZRANGEBYLEX reads it; `-`/`+` are -infinity/+infinity. */
export interface LexRange {
  min: string;
  max: string;
  minExclusive: boolean;
  maxExclusive: boolean;
  /** `neg` for `-` (below everything), `pos` for `+` (above everything), else `value`. */
  minKind: 'value' | 'neg' | 'pos';
  maxKind: 'value' | 'neg' | 'pos';
}

function aboveMin(score: number, range: ScoreRange): boolean {
  return range.minExclusive ? score > range.min : score >= range.min;
}
function belowMax(score: number, range: ScoreRange): boolean {
  return range.maxExclusive ? score < range.max : score <= range.max;
}

function lexAboveMin(member: string, range: LexRange): boolean {
  if (range.minKind === 'neg') return true;
  if (range.minKind === 'pos') return false;
  return range.minExclusive ? member > range.min : member >= range.min;
}
function lexBelowMax(member: string, range: LexRange): boolean {
  if (range.maxKind === 'pos') return true;
  if (range.maxKind === 'neg') return false;
  return range.maxExclusive ? member < range.max : member <= range.max;
}

/** One member and its score. */
export interface ScoredMember {
  member: string;
  score: number;
}

/**
 * A sorted set: O(1) score lookup, O(log n) insert, delete and rank, range walks from the first
 * member in range. Scores are never NaN; -0 is stored as 0.
 */
export class SortedSet {
  readonly #scores = new Map<string, number>();
  readonly #header: SkipNode = newNode(MAX_LEVEL, 0, '');
  #tail: SkipNode | undefined;
  #level = 1;

  /** Number of members. */
  get size(): number {
    return this.#scores.size;
  }

  /** The member's score, or undefined. */
  score(member: string): number | undefined {
    return this.#scores.get(member);
  }

  /** Adds or re-scores `member`. */
  set(member: string, score: number): void {
    if (score === 0) score = 0; // -0 is stored as 0, as Redis's replies show
    const old = this.#scores.get(member);
    if (old !== undefined) {
      if (old === score) return;
      this.#unlink(old, member);
    }
    this.#scores.set(member, score);
    this.#insert(score, member);
  }

  /** Removes `member`; true when it was there. */
  delete(member: string): boolean {
    const score = this.#scores.get(member);
    if (score === undefined) return false;
    this.#scores.delete(member);
    this.#unlink(score, member);
    return true;
  }

  #insert(score: number, member: string): void {
    const update = UPDATE as SkipNode[];
    const rank = RANK;
    let x = this.#header;
    for (let i = this.#level - 1; i >= 0; i--) {
      rank[i] = i === this.#level - 1 ? 0 : (rank[i + 1] as number);
      let next = x.forward[i];
      while (next !== undefined && before(next.score, next.member, score, member)) {
        rank[i] = (rank[i] as number) + (x.span[i] as number);
        x = next;
        next = x.forward[i];
      }
      update[i] = x;
    }
    const level = randomLevel();
    if (level > this.#level) {
      for (let i = this.#level; i < level; i++) {
        rank[i] = 0;
        update[i] = this.#header;
        this.#header.span[i] = this.#scores.size - 1;
      }
      this.#level = level;
    }
    const node = newNode(level, score, member);
    for (let i = 0; i < level; i++) {
      const u = update[i] as SkipNode;
      node.forward[i] = u.forward[i];
      u.forward[i] = node;
      const r0 = rank[0] as number;
      const ri = rank[i] as number;
      node.span[i] = (u.span[i] as number) - (r0 - ri);
      u.span[i] = r0 - ri + 1;
    }
    for (let i = level; i < this.#level; i++)
      (update[i] as SkipNode).span[i] = ((update[i] as SkipNode).span[i] as number) + 1;
    node.backward = update[0] === this.#header ? undefined : update[0];
    const next = node.forward[0];
    if (next !== undefined) next.backward = node;
    else this.#tail = node;
  }

  #unlink(score: number, member: string): void {
    const update = UPDATE as SkipNode[];
    let x = this.#header;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next !== undefined && before(next.score, next.member, score, member)) {
        x = next;
        next = x.forward[i];
      }
      update[i] = x;
    }
    const node = x.forward[0];
    if (node === undefined || node.score !== score || node.member !== member) return;
    for (let i = 0; i < this.#level; i++) {
      const u = update[i] as SkipNode;
      if (u.forward[i] === node) {
        u.span[i] = (u.span[i] as number) + (node.span[i] as number) - 1;
        u.forward[i] = node.forward[i];
      } else {
        u.span[i] = (u.span[i] as number) - 1;
      }
    }
    const next = node.forward[0];
    if (next !== undefined) next.backward = node.backward;
    else this.#tail = node.backward;
    while (this.#level > 1 && this.#header.forward[this.#level - 1] === undefined) this.#level--;
  }

  /** 0-based rank of `member` from the lowest score, or undefined. */
  rank(member: string): number | undefined {
    const score = this.#scores.get(member);
    if (score === undefined) return undefined;
    let rank = 0;
    let x = this.#header;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next !== undefined && !before(score, member, next.score, next.member)) {
        rank += x.span[i] as number;
        x = next;
        next = x.forward[i];
      }
      if (x !== this.#header && x.member === member) return rank - 1;
    }
    return undefined;
  }

  #nodeAt(rank: number): SkipNode | undefined {
    // rank is 0-based; spans count 1-based positions.
    const target = rank + 1;
    let traversed = 0;
    let x = this.#header;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next !== undefined && traversed + (x.span[i] as number) <= target) {
        traversed += x.span[i] as number;
        x = next;
        next = x.forward[i];
      }
      if (traversed === target) return x;
    }
    return undefined;
  }

  /** Members with rank start..stop inclusive (clamped by the caller), lowest first or, with `reverse`, highest first (ranks counted from the top then). */
  rangeByRank(start: number, stop: number, reverse = false): ScoredMember[] {
    const out: ScoredMember[] = [];
    if (start > stop || start >= this.size) return out;
    let node = this.#nodeAt(reverse ? this.size - 1 - start : start);
    for (let i = start; i <= stop && node !== undefined; i++) {
      out.push({ member: node.member, score: node.score });
      node = reverse ? node.backward : node.forward[0];
    }
    return out;
  }

  #firstInScore(range: ScoreRange): SkipNode | undefined {
    let x = this.#header;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next !== undefined && !aboveMin(next.score, range)) {
        x = next;
        next = x.forward[i];
      }
    }
    const node = x.forward[0];
    if (node === undefined || !belowMax(node.score, range)) return undefined;
    return node;
  }

  #lastInScore(range: ScoreRange): SkipNode | undefined {
    let x = this.#header;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next !== undefined && belowMax(next.score, range)) {
        x = next;
        next = x.forward[i];
      }
    }
    if (x === this.#header || !aboveMin(x.score, range)) return undefined;
    return x;
  }

  #firstInLex(range: LexRange): SkipNode | undefined {
    let x = this.#header;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next !== undefined && !lexAboveMin(next.member, range)) {
        x = next;
        next = x.forward[i];
      }
    }
    const node = x.forward[0];
    if (node === undefined || !lexBelowMax(node.member, range)) return undefined;
    return node;
  }

  #lastInLex(range: LexRange): SkipNode | undefined {
    let x = this.#header;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next !== undefined && lexBelowMax(next.member, range)) {
        x = next;
        next = x.forward[i];
      }
    }
    if (x === this.#header || !lexAboveMin(x.member, range)) return undefined;
    return x;
  }

  /**
   * Members whose score is in `range`, lowest first (or highest first with `reverse`), skipping
   * `offset` and returning at most `limit` (negative = all).
   */
  rangeByScore(range: ScoreRange, reverse: boolean, offset = 0, limit = -1): ScoredMember[] {
    const out: ScoredMember[] = [];
    let node = reverse ? this.#lastInScore(range) : this.#firstInScore(range);
    while (node !== undefined && offset > 0) {
      offset--;
      node = reverse ? node.backward : node.forward[0];
    }
    while (node !== undefined && limit !== 0) {
      if (reverse ? !aboveMin(node.score, range) : !belowMax(node.score, range)) break;
      out.push({ member: node.member, score: node.score });
      if (limit > 0) limit--;
      node = reverse ? node.backward : node.forward[0];
    }
    return out;
  }

  /** As `rangeByScore`, over a lexicographic interval (meaningful when all scores are equal). */
  rangeByLex(range: LexRange, reverse: boolean, offset = 0, limit = -1): ScoredMember[] {
    const out: ScoredMember[] = [];
    let node = reverse ? this.#lastInLex(range) : this.#firstInLex(range);
    while (node !== undefined && offset > 0) {
      offset--;
      node = reverse ? node.backward : node.forward[0];
    }
    while (node !== undefined && limit !== 0) {
      if (reverse ? !lexAboveMin(node.member, range) : !lexBelowMax(node.member, range)) break;
      out.push({ member: node.member, score: node.score });
      if (limit > 0) limit--;
      node = reverse ? node.backward : node.forward[0];
    }
    return out;
  }

  /** Number of members with a score in `range`. */
  countByScore(range: ScoreRange): number {
    const first = this.#firstInScore(range);
    if (first === undefined) return 0;
    const last = this.#lastInScore(range) as SkipNode;
    return (this.rank(last.member) as number) - (this.rank(first.member) as number) + 1;
  }

  /** Number of members in the lexicographic `range`. */
  countByLex(range: LexRange): number {
    const first = this.#firstInLex(range);
    if (first === undefined) return 0;
    const last = this.#lastInLex(range) as SkipNode;
    return (this.rank(last.member) as number) - (this.rank(first.member) as number) + 1;
  }

  /** The lowest (or highest) member, or undefined when empty. */
  first(reverse = false): ScoredMember | undefined {
    const node = reverse ? this.#tail : this.#header.forward[0];
    return node === undefined ? undefined : { member: node.member, score: node.score };
  }

  /** Every member, lowest first. */
  *entries(): IterableIterator<ScoredMember> {
    let node = this.#header.forward[0];
    while (node !== undefined) {
      yield { member: node.member, score: node.score };
      node = node.forward[0];
    }
  }

  /** Members in map (insertion) order, for SCAN-like walks and random picks. */
  members(): IterableIterator<string> {
    return this.#scores.keys();
  }

  /** An independent copy. */
  clone(): SortedSet {
    const copy = new SortedSet();
    for (const { member, score } of this.entries()) copy.set(member, score);
    return copy;
  }
}

/**
 * Formats a double as C's `%.17g` does (Redis 7.0's reply for scores in RESP2, and d2string's
 * fallback): 17 significant digits, trailing zeros dropped, exponent form below 1e-4 or from
 * 1e17. `inf`/`-inf` for infinities.
 */
export function formatG17(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  if (Number.isNaN(value)) return 'nan';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const exp = value.toExponential(16);
  const e = exp.indexOf('e');
  const exponent = Number(exp.slice(e + 1));
  if (exponent < -4 || exponent >= 17) {
    let mantissa = exp.slice(0, e);
    if (mantissa.includes('.')) mantissa = mantissa.replace(/0+$/, '').replace(/\.$/, '');
    const sign = exponent < 0 ? '-' : '+';
    const digits = String(Math.abs(exponent)).padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  let fixed = value.toFixed(16 - exponent);
  if (fixed.includes('.')) fixed = fixed.replace(/0+$/, '').replace(/\.$/, '');
  return fixed;
}

/**
 * Formats a score as Redis 7.0's d2string does (ZSCAN's scores): an integral value that fits a
 * 64-bit integer as an integer, else `%.17g`.
 */
export function formatScore(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) return BigInt(value).toString();
  return formatG17(value);
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?(?:inf|infinity)$/i;
const HEX_FLOAT = /^([+-]?)0x(?:([0-9a-f]+)\.?([0-9a-f]*)|\.([0-9a-f]+))(?:p([+-]?\d+))?$/i;

function parseHexFloat(match: RegExpExecArray): number {
  const [, sign, intDigits = '', fracDigits1 = '', fracDigits2 = '', exponent] = match;
  const fraction = fracDigits1 || fracDigits2;
  let value = 0;
  for (const ch of intDigits) value = value * 16 + Number.parseInt(ch, 16);
  let scale = 1 / 16;
  for (const ch of fraction) {
    value += Number.parseInt(ch, 16) * scale;
    scale /= 16;
  }
  if (exponent !== undefined) value *= 2 ** Number(exponent);
  return sign === '-' ? -value : value;
}

interface Strtod {
  value: number;
  /** True when the value overflowed to infinity or underflowed to zero (strtod's ERANGE). */
  range: boolean;
}

/** Reads a whole string as strtod would (after any leading space the caller allowed); undefined when it is not all one number. */
function strtod(text: string): Strtod | undefined {
  if (DECIMAL_FLOAT.test(text)) {
    const value = Number(text);
    const mantissaDigits = /[1-9]/.test(text.replace(/[eE].*$/, ''));
    return { value, range: !Number.isFinite(value) || (value === 0 && mantissaDigits) };
  }
  if (INFINITY.test(text)) {
    return {
      value: text.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY,
      range: false,
    };
  }
  const hex = HEX_FLOAT.exec(text);
  if (hex === null) return undefined;
  const value = parseHexFloat(hex);
  const mantissaDigits = /[1-9a-f]/i.test(`${hex[2] ?? ''}${hex[3] ?? ''}${hex[4] ?? ''}`);
  return { value, range: !Number.isFinite(value) || (value === 0 && mantissaDigits) };
}

/**
 * Parses a double as Redis 7.0's getDoubleFromObject does (ZADD scores, ZINCRBY, timeouts): no
 * surrounding spaces, `inf`/`+inf`/`-inf`/`infinity`, exponents and hex floats; overflow,
 * underflow to zero and NaN are rejected. Undefined when the text is not a valid double. -0 reads
 * as 0.
 */
export function parseDouble(text: string): number | undefined {
  const parsed = strtod(text);
  if (parsed === undefined || parsed.range) return undefined;
  return parsed.value === 0 ? 0 : parsed.value;
}

/**
 * Parses a score bound as Redis 7.0's zslParseRange does: leading white space allowed, an empty
 * string reads as 0, overflow reads as infinity. Undefined when invalid.
 */
export function parseLenientDouble(text: string): number | undefined {
  const trimmed = text.replace(/^[ \t\n\v\f\r]+/, '');
  if (trimmed.length === 0) return 0;
  const parsed = strtod(trimmed);
  if (parsed === undefined) return undefined;
  return parsed.value === 0 ? 0 : parsed.value;
}
