/**
 * fengari (Lua 5.3 in JS) made to behave like the Lua 5.1 Redis embeds, as far as scripts can see.
 *
 * fengari's integers are 32-bit and wrap (`1763900000 * 1000` is negative), while Lua 5.1 has only
 * doubles. So every number a script meets is made a float: numerals in source and strings
 * converted by `tonumber`/arithmetic (fengari's `luaO_str2num`, patched process-wide; nothing else
 * in this process uses fengari), and every number the engine pushes. Floats then print as 5.1
 * prints them (`%.14g`: `3`, not `3.0`) in concatenation and `tostring`, and `string.format` is
 * replaced by one that takes the whole double range for `%d`/`%x` as 5.1 does.
 */
import { createRequire } from 'node:module';
import type { LuaDebug, LuaJsFunction, LuaState, LuaString } from 'fengari';
import { type FormatSpec, formatFloat, formatG, formatInteger, pad } from './format.js';

const require = createRequire(import.meta.url);
const fengari = require('fengari') as typeof import('fengari');

export const { lua, lauxlib, lualib, to_luastring } = fengari;
export type { LuaDebug, LuaJsFunction, LuaState, LuaString };

interface TValue {
  ttisinteger(): boolean;
  setfltvalue(value: number): void;
  value: number;
}
interface LObject {
  luaO_str2num(s: Uint8Array, o: TValue): number;
  luaO_tostring(L: LuaState, o: TValue & { setsvalue(v: unknown): void }): void;
  __relaybusPatched?: boolean;
}

const lobject = require('fengari/src/lobject.js') as LObject;
const lstring = require('fengari/src/lstring.js') as { luaS_bless(L: LuaState, s: Uint8Array): unknown };

if (!lobject.__relaybusPatched) {
  lobject.__relaybusPatched = true;
  const str2num = lobject.luaO_str2num;
  lobject.luaO_str2num = (s, o) => {
    const size = str2num(s, o);
    if (size !== 0 && o.ttisinteger()) o.setfltvalue(o.value);
    return size;
  };
  const tostring = lobject.luaO_tostring;
  lobject.luaO_tostring = (L, o) => {
    if (o.ttisinteger()) return tostring(L, o);
    o.setsvalue(lstring.luaS_bless(L, latin1(formatG(o.value, 14))));
  };
}

/** A JS string whose chars are all < 256 as Lua bytes. */
export function latin1(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

/** The Lua string at `index` as a Buffer sharing no memory with Lua, or undefined when not a string/number. */
export function toBuffer(L: LuaState, index: number): Buffer | undefined {
  const type = lua.lua_type(L, index);
  if (type === lua.LUA_TSTRING) return Buffer.from(lua.lua_tolstring(L, index)!);
  if (type === lua.LUA_TNUMBER) return Buffer.from(numberText(lua.lua_tonumber(L, index)), 'latin1');
  return undefined;
}

/** The Lua string at `index` read as latin1 (cheap for short ASCII strings: names, flags). */
export function toLatin1(L: LuaState, index: number): string {
  const bytes = lua.lua_tolstring(L, index);
  return bytes === null
    ? ''
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Pushes bytes as a Lua string. */
export function pushBytes(L: LuaState, bytes: Uint8Array): void {
  lua.lua_pushstring(L, bytes);
}

/** A number as Lua 5.1's `tostring` writes it. */
export function numberText(value: number): string {
  return formatG(value, 14);
}

/** Raises `message` (bytes of a JS string) as a Lua error string with the position of the calling Lua line. */
export function raise(L: LuaState, message: string): never {
  lauxlib.luaL_where(L, 1);
  lua.lua_pushstring(L, latin1(message));
  lua.lua_concat(L, 2);
  return lua.lua_error(L);
}

/** Sets `table[name] = fn` for the table on top of the stack. */
export function setFunction(L: LuaState, name: string, fn: LuaJsFunction): void {
  lua.lua_pushjsfunction(L, fn);
  lua.lua_setfield(L, -2, name);
}

/** Lua 5.1's `tostring` for numbers; other values go to the original. */
function installToString(L: LuaState): void {
  lua.lua_getglobal(L, 'tostring');
  lua.lua_pushjsclosure(
    L,
    (state) => {
      lauxlib.luaL_checkany(state, 1);
      if (lua.lua_type(state, 1) === lua.LUA_TNUMBER && !lua.lua_isinteger(state, 1)) {
        lua.lua_pushstring(state, latin1(numberText(lua.lua_tonumber(state, 1))));
        return 1;
      }
      lua.lua_pushvalue(state, lua.lua_upvalueindex(1));
      lua.lua_pushvalue(state, 1);
      lua.lua_call(state, 1, 1);
      return 1;
    },
    1,
  );
  lua.lua_setglobal(L, 'tostring');
}

/** `tonumber(s, base)` over the whole double range (fengari's wraps at 32 bits). */
function installToNumber(L: LuaState): void {
  lua.lua_getglobal(L, 'tonumber');
  lua.lua_pushjsclosure(
    L,
    (state) => {
      if (lua.lua_type(state, 2) <= lua.LUA_TNIL) {
        lua.lua_pushvalue(state, lua.lua_upvalueindex(1));
        lua.lua_pushvalue(state, 1);
        lua.lua_call(state, 1, 1);
        return 1;
      }
      const base = lauxlib.luaL_checkinteger(state, 2);
      if (base < 2 || base > 36)
        return lauxlib.luaL_error(state, to_luastring("bad argument #2 to 'tonumber' (base out of range)"));
      const text = Buffer.from(lauxlib.luaL_checklstring(state, 1)).toString('latin1').trim().toLowerCase();
      const negative = text.startsWith('-');
      const digits = negative ? text.slice(1) : text;
      let value = 0;
      for (const c of digits) {
        const digit = Number.parseInt(c, 36);
        if (Number.isNaN(digit) || digit >= base) {
          lua.lua_pushnil(state);
          return 1;
        }
        value = value * base + digit;
      }
      if (digits === '') lua.lua_pushnil(state);
      else lua.lua_pushnumber(state, negative ? -value : value);
      return 1;
    },
    1,
  );
  lua.lua_setglobal(L, 'tonumber');
}

const SPEC = /^%([-+ #0]*)(\d*)(?:\.(\d*))?([diouxXeEfFgGcqs%])/;

/** `string.format` with C semantics over the whole double range (as Lua 5.1's). */
const stringFormat: LuaJsFunction = (L) => {
  const template = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  let out = '';
  let arg = 1;
  let i = 0;
  while (i < template.length) {
    const at = template.indexOf('%', i);
    if (at < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, at);
    const match = SPEC.exec(template.slice(at, at + 32));
    if (!match) {
      return lauxlib.luaL_error(
        L,
        to_luastring("invalid option '%s' to 'format'"),
        template.slice(at, at + 2),
      );
    }
    i = at + match[0].length;
    const conversion = match[4]!;
    if (conversion === '%') {
      out += '%';
      continue;
    }
    arg += 1;
    const spec: FormatSpec = {
      flags: match[1] ?? '',
      width: match[2] ? Number(match[2]) : 0,
      precision: match[3] === undefined ? undefined : Number(match[3] || '0'),
    };
    switch (conversion) {
      case 'd':
      case 'i':
      case 'o':
      case 'u':
      case 'x':
      case 'X':
        out += formatInteger(spec, conversion, lauxlib.luaL_checknumber(L, arg));
        break;
      case 'c':
        out += String.fromCharCode(lauxlib.luaL_checknumber(L, arg) & 0xff);
        break;
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        out += formatFloat(spec, conversion, lauxlib.luaL_checknumber(L, arg));
        break;
      case 'q':
        out += quote(Buffer.from(lauxlib.luaL_checklstring(L, arg)).toString('latin1'));
        break;
      default: {
        let text: string;
        if (lua.lua_type(L, arg) === lua.LUA_TNUMBER && !lua.lua_isinteger(L, arg)) {
          text = numberText(lua.lua_tonumber(L, arg));
        } else {
          lauxlib.luaL_checkany(L, arg);
          text = Buffer.from(lauxlib.luaL_tolstring(L, arg)).toString('latin1');
          lua.lua_pop(L, 1);
        }
        if (spec.precision !== undefined) text = text.slice(0, spec.precision);
        out += pad(spec, text, false, false);
      }
    }
  }
  lua.lua_pushstring(L, latin1(out));
  return 1;
};

function quote(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += `\\${text[i]}`;
    else if (c === 0x0a) out += '\\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0) out += '\\000';
    else out += text[i];
  }
  return `${out}"`;
}

/**
 * Opens the libraries a Redis script has (base, table, string, math), with the 5.1 names scripts
 * use (`unpack`, `table.getn`) and without the ones Redis removes (`loadfile`, `dofile`, `print`
 * writes nowhere).
 */
export function openLibraries(L: LuaState): void {
  lauxlib.luaL_requiref(L, '_G', lualib.luaopen_base, true);
  lauxlib.luaL_requiref(L, 'table', lualib.luaopen_table, true);
  lauxlib.luaL_requiref(L, 'string', lualib.luaopen_string, true);
  lauxlib.luaL_requiref(L, 'math', lualib.luaopen_math, true);
  lua.lua_settop(L, 0);
  for (const name of ['loadfile', 'dofile', 'print']) {
    lua.lua_pushnil(L);
    lua.lua_setglobal(L, name);
  }
  lua.lua_getglobal(L, 'table');
  lua.lua_getfield(L, -1, 'unpack');
  lua.lua_setglobal(L, 'unpack');
  setFunction(L, 'getn', (state) => {
    lauxlib.luaL_checktype(state, 1, lua.LUA_TTABLE);
    lua.lua_pushnumber(state, lua.lua_rawlen(state, 1));
    return 1;
  });
  lua.lua_pop(L, 1);
  lua.lua_getglobal(L, 'string');
  setFunction(L, 'format', stringFormat);
  lua.lua_pop(L, 1);
  installToString(L);
  installToNumber(L);
}
