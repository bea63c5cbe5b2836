/** Number formatting that matches Redis's C formatting byte for byte. */

/** Formats `value` as C's `%.17g` (Redis's RESP2 double replies), with `inf`/`-inf`/`nan`. */
export function formatDouble17g(value: number): string {
  return formatG(value, 17);
}

/** C's `%.<precision>g`. */
export function formatG(value: number, precision: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const exp = value.toExponential(precision - 1);
  const e = exp.indexOf('e');
  const exponent = Number.parseInt(exp.slice(e + 1), 10);
  if (exponent < -4 || exponent >= precision) {
    let mantissa = exp.slice(0, e);
    if (mantissa.includes('.')) mantissa = mantissa.replace(/0+$/, '').replace(/\.$/, '');
    const sign = exponent < 0 ? '-' : '+';
    const abs = Math.abs(exponent);
    return `${mantissa}e${sign}${abs < 10 ? `0${abs}` : abs}`;
  }
  let fixed = value.toFixed(Math.max(0, precision - 1 - exponent));
  if (fixed.includes('.')) fixed = fixed.replace(/0+$/, '').replace(/\.$/, '');
  return fixed;
}
