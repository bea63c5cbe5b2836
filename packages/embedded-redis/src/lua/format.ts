/**
 * C `printf` number formatting as Lua 5.1 and Redis use it (`%.14g` for Lua's `tostring`, `%.17g`
 * for numbers passed to `redis.call`, and `string.format`'s conversions).
 */

/** `%.<precision>g` as C formats it: `inf`, `-inf`, `nan`, exponents with at least two digits. */
export function formatG(value: number, precision: number, alternate = false): string {
  if (Number.isNaN(value)) return value < 0 ? '-nan' : 'nan';
  if (!Number.isFinite(value)) return value < 0 ? '-inf' : 'inf';
  const p = precision === 0 ? 1 : precision;
  if (value === 0) {
    const zero = Object.is(value, -0) ? '-0' : '0';
    return alternate ? `${zero}.${'0'.repeat(p - 1)}` : zero;
  }
  const exponential = value.toExponential(p - 1);
  const e = Number(exponential.slice(exponential.indexOf('e') + 1));
  let text: string;
  if (e < -4 || e >= p) {
    const [mantissa = '', exp = ''] = exponential.split('e');
    const m = alternate ? mantissa : stripZeros(mantissa);
    const digits = exp.replace(/^[+-]/, '');
    text = `${m}e${e < 0 ? '-' : '+'}${digits.length < 2 ? `0${digits}` : digits}`;
  } else {
    const fixed = value.toFixed(Math.max(0, p - 1 - e));
    text = alternate ? fixed : stripZeros(fixed);
  }
  return text;
}

function stripZeros(text: string): string {
  if (!text.includes('.')) return text;
  return text.replace(/0+$/, '').replace(/\.$/, '');
}

/** `%e` with `precision` digits after the point, C style (two-digit exponent at least). */
export function formatE(value: number, precision: number, upper: boolean): string {
  if (!Number.isFinite(value)) return formatG(value, 1);
  const text = value.toExponential(precision);
  const [mantissa = '', exp = ''] = text.split('e');
  const digits = exp.replace(/^[+-]/, '');
  const result = `${mantissa}e${exp.startsWith('-') ? '-' : '+'}${digits.length < 2 ? `0${digits}` : digits}`;
  return upper ? result.toUpperCase() : result;
}

/** One `string.format` conversion spec: flags, width and precision. */
export interface FormatSpec {
  readonly flags: string;
  readonly width: number;
  readonly precision: number | undefined;
}

/**
 * Pads `body` to the spec's width, honouring `-` and `0`; `numeric` conversions get a sign (`-`,
 * or `+`/space by flag) and zero padding.
 */
export function pad(
  spec: FormatSpec,
  body: string,
  negative: boolean,
  numeric: boolean,
  signed = numeric,
): string {
  let sign = '';
  if (numeric && signed) {
    if (negative) sign = '-';
    else if (spec.flags.includes('+')) sign = '+';
    else if (spec.flags.includes(' ')) sign = ' ';
  }
  const length = sign.length + body.length;
  if (length >= spec.width) return sign + body;
  const fill = spec.width - length;
  if (spec.flags.includes('-')) return sign + body + ' '.repeat(fill);
  const zero =
    numeric &&
    spec.flags.includes('0') &&
    (spec.precision === undefined || !/^[a-fA-F0-9]+$/.test(body) || body.includes('.'));
  if (zero && /^[0-9a-fA-F.]/.test(body)) return sign + '0'.repeat(fill) + body;
  return ' '.repeat(fill) + sign + body;
}

/** Formats a number as an integer conversion (`d i u x X o c`), using all of a double's range as 5.1 does. */
export function formatInteger(spec: FormatSpec, conversion: string, value: number): string {
  const truncated = Math.trunc(value);
  const negative = truncated < 0;
  let magnitude = BigInt(Math.abs(truncated));
  let body: string;
  switch (conversion) {
    case 'x':
    case 'X':
    case 'o': {
      if (negative) magnitude = (1n << 64n) - magnitude;
      body = magnitude.toString(conversion === 'o' ? 8 : 16);
      if (conversion === 'X') body = body.toUpperCase();
      if (spec.flags.includes('#') && magnitude !== 0n)
        body = (conversion === 'o' ? '0' : `0${conversion}`) + body;
      break;
    }
    default:
      body = magnitude.toString();
  }
  if (spec.precision !== undefined && body.length < spec.precision) {
    body = '0'.repeat(spec.precision - body.length) + body;
  }
  const signed = conversion === 'd' || conversion === 'i';
  return pad(spec, body, signed && negative, true, signed);
}

/** Formats a number as a floating conversion (`f F e E g G`). */
export function formatFloat(spec: FormatSpec, conversion: string, value: number): string {
  const precision = spec.precision ?? 6;
  const negative = value < 0 || Object.is(value, -0);
  const magnitude = Math.abs(value);
  let body: string;
  if (!Number.isFinite(magnitude)) body = Number.isNaN(magnitude) ? 'nan' : 'inf';
  else if (conversion === 'f' || conversion === 'F') body = magnitude.toFixed(precision);
  else if (conversion === 'e' || conversion === 'E') body = formatE(magnitude, precision, conversion === 'E');
  else {
    body = formatG(magnitude, precision, spec.flags.includes('#'));
    if (conversion === 'G') body = body.toUpperCase();
  }
  if (conversion === 'F' || conversion === 'E' || conversion === 'G') body = body.toUpperCase();
  return pad(spec, body, negative && !Number.isNaN(value), true);
}
