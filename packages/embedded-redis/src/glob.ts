/**
 * Redis's glob-style matching (`KEYS`, `SCAN MATCH`, `PSUBSCRIBE`, ACL patterns), with Redis's
 * exact semantics: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x` escapes, and an empty string never
 * matching a non-empty pattern. Works on binary (latin1) strings.
 */
export function globMatch(pattern: string, text: string, nocase = false): boolean {
  if (pattern === '*') return text.length > 0;
  return matchAt(pattern, 0, text, 0, nocase, { skipLonger: false }, 0);
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

function matchAt(
  p: string,
  pi: number,
  s: string,
  si: number,
  nocase: boolean,
  state: { skipLonger: boolean },
  nesting: number,
): boolean {
  if (nesting > 1000) return false;
  const plen = p.length;
  const slen = s.length;
  while (pi < plen && si < slen) {
    const pc = p.charCodeAt(pi);
    if (pc === 42) {
      while (pi + 1 < plen && p.charCodeAt(pi + 1) === 42) pi++;
      if (pi + 1 === plen) return true;
      while (si < slen) {
        if (matchAt(p, pi + 1, s, si, nocase, state, nesting + 1)) return true;
        if (state.skipLonger) return false;
        si++;
      }
      state.skipLonger = true;
      return false;
    }
    if (pc === 63) {
      si++;
    } else if (pc === 91) {
      pi++;
      const not = p.charCodeAt(pi) === 94;
      if (not) pi++;
      let match = false;
      const sc = s.charCodeAt(si);
      for (;;) {
        const c = p.charCodeAt(pi);
        if (c === 92 && plen - pi >= 2) {
          pi++;
          if (p.charCodeAt(pi) === sc) match = true;
        } else if (c === 93) {
          break;
        } else if (pi >= plen) {
          pi--;
          break;
        } else if (plen - pi >= 3 && p.charCodeAt(pi + 1) === 45) {
          let start = c;
          let end = p.charCodeAt(pi + 2);
          let x = sc;
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lower(start);
            end = lower(end);
            x = lower(x);
          }
          pi += 2;
          if (x >= start && x <= end) match = true;
        } else if (nocase ? lower(c) === lower(sc) : c === sc) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      let c = pc;
      if (c === 92 && plen - pi >= 2) {
        pi++;
        c = p.charCodeAt(pi);
      }
      const sc = s.charCodeAt(si);
      if (nocase ? lower(c) !== lower(sc) : c !== sc) return false;
      si++;
    }
    pi++;
    if (si === slen) {
      while (pi < plen && p.charCodeAt(pi) === 42) pi++;
      break;
    }
  }
  return pi === plen && si === slen;
}
