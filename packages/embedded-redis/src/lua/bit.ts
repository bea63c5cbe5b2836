/**
 * The `bit` library (LuaBitOp) Redis ships: 32-bit operations on numbers, results as signed
 * 32-bit numbers.
 */
import { type LuaState, latin1, lauxlib, lua, setFunction } from './runtime.js';

/** LuaBitOp's normalisation of a number to a signed 32-bit integer. */
function toBit(n: number): number {
  if (!Number.isFinite(n)) return 0;
  return Number(BigInt.asIntN(32, BigInt(Math.round(n))));
}

function arg(L: LuaState, index: number): number {
  return toBit(lauxlib.luaL_checknumber(L, index));
}

function fold(op: (a: number, b: number) => number) {
  return (L: LuaState): number => {
    let result = arg(L, 1);
    for (let i = 2, n = lua.lua_gettop(L); i <= n; i++) result = op(result, arg(L, i));
    lua.lua_pushnumber(L, result | 0);
    return 1;
  };
}

function shift(op: (a: number, b: number) => number) {
  return (L: LuaState): number => {
    lua.lua_pushnumber(L, op(arg(L, 1), arg(L, 2) & 31) | 0);
    return 1;
  };
}

/** Pushes the `bit` table. */
export function openBit(L: LuaState): void {
  lua.lua_newtable(L);
  setFunction(L, 'tobit', (state) => {
    lua.lua_pushnumber(state, arg(state, 1));
    return 1;
  });
  setFunction(L, 'bnot', (state) => {
    lua.lua_pushnumber(state, ~arg(state, 1));
    return 1;
  });
  setFunction(
    L,
    'band',
    fold((a, b) => a & b),
  );
  setFunction(
    L,
    'bor',
    fold((a, b) => a | b),
  );
  setFunction(
    L,
    'bxor',
    fold((a, b) => a ^ b),
  );
  setFunction(
    L,
    'lshift',
    shift((a, b) => a << b),
  );
  setFunction(
    L,
    'rshift',
    shift((a, b) => a >>> b),
  );
  setFunction(
    L,
    'arshift',
    shift((a, b) => a >> b),
  );
  setFunction(
    L,
    'rol',
    shift((a, b) => (a << b) | (a >>> (32 - b))),
  );
  setFunction(
    L,
    'ror',
    shift((a, b) => (a >>> b) | (a << (32 - b))),
  );
  setFunction(L, 'bswap', (state) => {
    const a = arg(state, 1);
    lua.lua_pushnumber(state, (a >>> 24) | ((a >>> 8) & 0xff00) | ((a & 0xff00) << 8) | (a << 24) | 0);
    return 1;
  });
  setFunction(L, 'tohex', (state) => {
    let value = arg(state, 1);
    let digits = lua.lua_type(state, 2) <= lua.LUA_TNIL ? 8 : arg(state, 2);
    const upper = digits < 0;
    if (upper) digits = -digits;
    if (digits > 8) digits = 8;
    value = value >>> 0;
    let text = value
      .toString(16)
      .padStart(8, '0')
      .slice(8 - digits);
    if (upper) text = text.toUpperCase();
    lua.lua_pushstring(state, latin1(text));
    return 1;
  });
}
