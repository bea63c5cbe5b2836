/**
 * `cmsgpack.pack(...)` / `cmsgpack.unpack(s)` with the encodings Redis's lua-cmsgpack chooses, so
 * packed bytes equal real Redis's: integral numbers as the smallest int format, others as float32
 * when exact else float64, strings as fixstr/str8/str16/str32, a table whose keys are exactly
 * 1..n as an array (an empty table too), any other table as a map, nesting past 16 as nil.
 * Like Redis's, unpack knows no bin or ext formats (`Bad data format in input.`).
 */
import { type LuaState, lauxlib, lua, setFunction, to_luastring } from './runtime.js';

const MAX_NESTING = 16;

class Encoder {
  #buffer = Buffer.allocUnsafe(256);
  #length = 0;

  #reserve(n: number): void {
    if (this.#length + n <= this.#buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + n));
    this.#buffer.copy(next, 0, 0, this.#length);
    this.#buffer = next;
  }

  byte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  header(code: number, size: number, value: number | bigint): void {
    this.#reserve(1 + size);
    const b = this.#buffer;
    b[this.#length++] = code;
    if (size === 1) b.writeUInt8(Number(value) & 0xff, this.#length);
    else if (size === 2) b.writeUInt16BE(Number(value) & 0xffff, this.#length);
    else if (size === 4) b.writeUInt32BE(Number(value) >>> 0, this.#length);
    else b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(value)), this.#length);
    this.#length += size;
  }

  bytes(data: Uint8Array): void {
    this.#reserve(data.length);
    this.#buffer.set(data, this.#length);
    this.#length += data.length;
  }

  result(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  integer(n: number): void {
    if (n >= 0) {
      if (n <= 127) this.byte(n);
      else if (n <= 0xff) this.header(0xcc, 1, n);
      else if (n <= 0xffff) this.header(0xcd, 2, n);
      else if (n <= 0xffffffff) this.header(0xce, 4, n);
      else this.header(0xcf, 8, BigInt(n));
    } else if (n >= -32) this.byte(n & 0xff);
    else if (n >= -128) this.header(0xd0, 1, n);
    else if (n >= -32768) this.header(0xd1, 2, n);
    else if (n >= -2147483648) this.header(0xd2, 4, n);
    else this.header(0xd3, 8, BigInt(n));
  }

  number(n: number): void {
    if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) {
      this.integer(n);
      return;
    }
    if (Math.fround(n) === n || Number.isNaN(n)) {
      this.#reserve(5);
      this.#buffer[this.#length++] = 0xca;
      this.#buffer.writeFloatBE(n, this.#length);
      this.#length += 4;
    } else {
      this.#reserve(9);
      this.#buffer[this.#length++] = 0xcb;
      this.#buffer.writeDoubleBE(n, this.#length);
      this.#length += 8;
    }
  }

  string(data: Uint8Array): void {
    const n = data.length;
    if (n < 32) this.byte(0xa0 | n);
    else if (n <= 0xff) this.header(0xd9, 1, n);
    else if (n <= 0xffff) this.header(0xda, 2, n);
    else this.header(0xdb, 4, n);
    this.bytes(data);
  }
}

/** lua-cmsgpack's test: every key a positive integer and their count equal to the largest. */
function isArray(L: LuaState): boolean {
  let max = 0;
  let count = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2)) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -1);
      if (k > 0 && Number.isInteger(k)) {
        if (k > max) max = k;
        count++;
        continue;
      }
    }
    lua.lua_pop(L, 1);
    return false;
  }
  return max === count;
}

function encode(L: LuaState, out: Encoder, level: number): void {
  switch (lua.lua_type(L, -1)) {
    case lua.LUA_TSTRING:
      out.string(lua.lua_tolstring(L, -1)!);
      return;
    case lua.LUA_TNUMBER:
      out.number(lua.lua_tonumber(L, -1));
      return;
    case lua.LUA_TBOOLEAN:
      out.byte(lua.lua_toboolean(L, -1) ? 0xc3 : 0xc2);
      return;
    case lua.LUA_TTABLE: {
      if (level >= MAX_NESTING) {
        out.byte(0xc0);
        return;
      }
      lua.lua_checkstack(L, 3);
      if (isArray(L)) {
        const n = lua.lua_rawlen(L, -1);
        if (n <= 15) out.byte(0x90 | n);
        else if (n <= 0xffff) out.header(0xdc, 2, n);
        else out.header(0xdd, 4, n);
        for (let i = 1; i <= n; i++) {
          lua.lua_rawgeti(L, -1, i);
          encode(L, out, level + 1);
          lua.lua_pop(L, 1);
        }
        return;
      }
      let n = 0;
      lua.lua_pushnil(L);
      while (lua.lua_next(L, -2)) {
        lua.lua_pop(L, 1);
        n++;
      }
      if (n <= 15) out.byte(0x80 | n);
      else if (n <= 0xffff) out.header(0xde, 2, n);
      else out.header(0xdf, 4, n);
      lua.lua_pushnil(L);
      while (lua.lua_next(L, -2)) {
        lua.lua_pushvalue(L, -2);
        encode(L, out, level + 1);
        lua.lua_pop(L, 1);
        encode(L, out, level + 1);
        lua.lua_pop(L, 1);
      }
      return;
    }
    default:
      out.byte(0xc0);
  }
}

class Truncated extends Error {}
class BadFormat extends Error {}

class Decoder {
  offset = 0;
  constructor(
    readonly L: LuaState,
    readonly data: Buffer,
  ) {}

  #need(n: number): void {
    if (this.offset + n > this.data.length) throw new Truncated();
  }

  #uint(size: number): number {
    this.#need(size);
    const d = this.data;
    const at = this.offset;
    this.offset += size;
    if (size === 1) return d.readUInt8(at);
    if (size === 2) return d.readUInt16BE(at);
    if (size === 4) return d.readUInt32BE(at);
    return Number(d.readBigUInt64BE(at));
  }

  #int(size: number): number {
    this.#need(size);
    const d = this.data;
    const at = this.offset;
    this.offset += size;
    if (size === 1) return d.readInt8(at);
    if (size === 2) return d.readInt16BE(at);
    if (size === 4) return d.readInt32BE(at);
    return Number(d.readBigInt64BE(at));
  }

  #string(length: number): void {
    this.#need(length);
    lua.lua_pushstring(this.L, this.data.subarray(this.offset, this.offset + length));
    this.offset += length;
  }

  #array(length: number): void {
    const L = this.L;
    lua.lua_checkstack(L, 3);
    lua.lua_createtable(L, length, 0);
    for (let i = 1; i <= length; i++) {
      this.value();
      lua.lua_rawseti(L, -2, i);
    }
  }

  #map(length: number): void {
    const L = this.L;
    lua.lua_checkstack(L, 4);
    lua.lua_createtable(L, 0, length);
    for (let i = 0; i < length; i++) {
      this.value();
      this.value();
      if (lua.lua_type(L, -2) === lua.LUA_TNIL) lua.lua_pop(L, 2);
      else lua.lua_rawset(L, -3);
    }
  }

  /** Pushes the next value. */
  value(): void {
    const L = this.L;
    this.#need(1);
    const code = this.data[this.offset++]!;
    if (code <= 0x7f) {
      lua.lua_pushnumber(L, code);
      return;
    }
    if (code >= 0xe0) {
      lua.lua_pushnumber(L, code - 0x100);
      return;
    }
    if ((code & 0xe0) === 0xa0) {
      this.#string(code & 0x1f);
      return;
    }
    if ((code & 0xf0) === 0x90) {
      this.#array(code & 0x0f);
      return;
    }
    if ((code & 0xf0) === 0x80) {
      this.#map(code & 0x0f);
      return;
    }
    switch (code) {
      case 0xc0:
        lua.lua_pushnil(L);
        return;
      case 0xc2:
        lua.lua_pushboolean(L, false);
        return;
      case 0xc3:
        lua.lua_pushboolean(L, true);
        return;
      case 0xd9:
        this.#string(this.#uint(1));
        return;
      case 0xda:
        this.#string(this.#uint(2));
        return;
      case 0xdb:
        this.#string(this.#uint(4));
        return;
      case 0xca: {
        this.#need(4);
        const v = this.data.readFloatBE(this.offset);
        this.offset += 4;
        lua.lua_pushnumber(L, v);
        return;
      }
      case 0xcb: {
        this.#need(8);
        const v = this.data.readDoubleBE(this.offset);
        this.offset += 8;
        lua.lua_pushnumber(L, v);
        return;
      }
      case 0xcc:
        lua.lua_pushnumber(L, this.#uint(1));
        return;
      case 0xcd:
        lua.lua_pushnumber(L, this.#uint(2));
        return;
      case 0xce:
        lua.lua_pushnumber(L, this.#uint(4));
        return;
      case 0xcf:
        lua.lua_pushnumber(L, this.#uint(8));
        return;
      case 0xd0:
        lua.lua_pushnumber(L, this.#int(1));
        return;
      case 0xd1:
        lua.lua_pushnumber(L, this.#int(2));
        return;
      case 0xd2:
        lua.lua_pushnumber(L, this.#int(4));
        return;
      case 0xd3:
        lua.lua_pushnumber(L, this.#int(8));
        return;
      case 0xdc:
        this.#array(this.#uint(2));
        return;
      case 0xdd:
        this.#array(this.#uint(4));
        return;
      case 0xde:
        this.#map(this.#uint(2));
        return;
      case 0xdf:
        this.#map(this.#uint(4));
        return;
      default:
        throw new BadFormat();
    }
  }
}

function unpackAll(L: LuaState, data: Buffer, limit: number, offset: number, withOffset: boolean): number {
  const decoder = new Decoder(L, data);
  decoder.offset = offset;
  let count = 0;
  try {
    while (decoder.offset < data.length && (limit <= 0 || count < limit)) {
      lua.lua_checkstack(L, 2);
      decoder.value();
      count++;
    }
  } catch (error) {
    if (error instanceof Truncated) return lauxlib.luaL_error(L, to_luastring('Missing bytes in input.'));
    if (error instanceof BadFormat) return lauxlib.luaL_error(L, to_luastring('Bad data format in input.'));
    throw error;
  }
  if (!withOffset) return count;
  lua.lua_pushnumber(L, decoder.offset >= data.length ? -1 : decoder.offset);
  lua.lua_insert(L, -(count + 1));
  return count + 1;
}

/** Pushes the `cmsgpack` table. */
export function openCmsgpack(L: LuaState): void {
  lua.lua_newtable(L);
  setFunction(L, 'pack', (state) => {
    const n = lua.lua_gettop(state);
    if (n === 0) {
      return lauxlib.luaL_error(
        state,
        to_luastring("bad argument #0 to 'pack' (MessagePack pack needs input.)"),
      );
    }
    const out = new Encoder();
    for (let i = 1; i <= n; i++) {
      lua.lua_pushvalue(state, i);
      encode(state, out, 0);
      lua.lua_pop(state, 1);
    }
    lua.lua_pushstring(state, out.result());
    return 1;
  });
  setFunction(L, 'unpack', (state) => {
    const data = Buffer.from(lauxlib.luaL_checklstring(state, 1));
    return unpackAll(state, data, 0, 0, false);
  });
  setFunction(L, 'unpack_one', (state) => {
    const data = Buffer.from(lauxlib.luaL_checklstring(state, 1));
    return unpackAll(state, data, 1, lauxlib.luaL_optinteger(state, 2, 0), true);
  });
  setFunction(L, 'unpack_limit', (state) => {
    const data = Buffer.from(lauxlib.luaL_checklstring(state, 1));
    const limit = lauxlib.luaL_checkinteger(state, 2);
    return unpackAll(state, data, limit, lauxlib.luaL_optinteger(state, 3, 0), true);
  });
}
