/**
 * `cjson.encode` / `cjson.decode` as Redis's lua-cjson behaves by default: numbers as `%.14g`,
 * `/` escaped, a table with only positive integer keys is an array (holes become `null`, an
 * excessively sparse one is an error), an empty table is `{}`, JSON `null` is `cjson.null`.
 */
import { type LuaState, latin1, lauxlib, lua, numberText, setFunction, to_luastring } from './runtime.js';

const MAX_DEPTH = 1000;

/** The value `cjson.null` stands for (a light userdata, as in lua-cjson). */
const NULL = { cjsonNull: true };

function fail(L: LuaState, message: string): never {
  return lauxlib.luaL_error(L, to_luastring(message.replace(/%/g, '%%')));
}

function escapeString(bytes: Uint8Array): string {
  let out = '"';
  for (const byte of bytes) {
    switch (byte) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += '\\\\';
        break;
      case 0x2f:
        out += '\\/';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      default:
        out +=
          byte < 0x20 || byte === 0x7f
            ? `\\u${byte.toString(16).padStart(4, '0')}`
            : String.fromCharCode(byte);
    }
  }
  return `${out}"`;
}

/** The array length of the table at the top, -1 when it is not an array (lua-cjson's rules). */
function arrayLength(L: LuaState): number {
  let max = 0;
  let items = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2)) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -1);
      if (k >= 1 && Number.isInteger(k)) {
        if (k > max) max = k;
        items++;
        continue;
      }
    }
    lua.lua_pop(L, 1);
    return -1;
  }
  if (max > 10 && max > items * 2) fail(L, 'Cannot serialise table: excessively sparse array');
  return max;
}

function encodeValue(L: LuaState, depth: number): string {
  switch (lua.lua_type(L, -1)) {
    case lua.LUA_TSTRING:
      return escapeString(lua.lua_tolstring(L, -1)!);
    case lua.LUA_TNUMBER: {
      const n = lua.lua_tonumber(L, -1);
      if (!Number.isFinite(n)) fail(L, 'Cannot serialise number: must not be NaN or Inf');
      return numberText(n);
    }
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, -1) ? 'true' : 'false';
    case lua.LUA_TNIL:
      return 'null';
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, -1) === NULL) return 'null';
      return fail(L, 'Cannot serialise userdata: type not supported');
    case lua.LUA_TTABLE: {
      if (depth >= MAX_DEPTH) fail(L, `Cannot serialise, excessive nesting (${depth + 1})`);
      lua.lua_checkstack(L, 3);
      const length = arrayLength(L);
      if (length > 0) {
        const parts: string[] = [];
        for (let i = 1; i <= length; i++) {
          lua.lua_rawgeti(L, -1, i);
          parts.push(encodeValue(L, depth + 1));
          lua.lua_pop(L, 1);
        }
        return `[${parts.join(',')}]`;
      }
      const parts: string[] = [];
      lua.lua_pushnil(L);
      while (lua.lua_next(L, -2)) {
        const keyType = lua.lua_type(L, -2);
        let key: string;
        if (keyType === lua.LUA_TSTRING) key = escapeString(lua.lua_tolstring(L, -2)!);
        else if (keyType === lua.LUA_TNUMBER) key = `"${numberText(lua.lua_tonumber(L, -2))}"`;
        else return fail(L, 'Cannot serialise table: table key must be a number or string');
        parts.push(`${key}:${encodeValue(L, depth + 1)}`);
        lua.lua_pop(L, 1);
      }
      return `{${parts.join(',')}}`;
    }
    default: {
      const name = Buffer.from(lua.lua_typename(L, lua.lua_type(L, -1))).toString('latin1');
      return fail(L, `Cannot serialise ${name}: type not supported`);
    }
  }
}

function pushJson(L: LuaState, value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) fail(L, `Found too many nested data structures (${depth}) at character 1`);
  lua.lua_checkstack(L, 3);
  if (value === null) lua.lua_pushlightuserdata(L, NULL);
  else if (typeof value === 'string') lua.lua_pushstring(L, Buffer.from(value, 'utf8'));
  else if (typeof value === 'number') lua.lua_pushnumber(L, value);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    for (let i = 0; i < value.length; i++) {
      pushJson(L, value[i], depth + 1);
      lua.lua_rawseti(L, -2, i + 1);
    }
  } else {
    const entries = Object.entries(value as Record<string, unknown>);
    lua.lua_createtable(L, 0, entries.length);
    for (const [k, v] of entries) {
      lua.lua_pushstring(L, Buffer.from(k, 'utf8'));
      pushJson(L, v, depth + 1);
      lua.lua_rawset(L, -3);
    }
  }
}

/** Pushes the `cjson` table. */
export function openCjson(L: LuaState): void {
  lua.lua_newtable(L);
  setFunction(L, 'encode', (state) => {
    if (lua.lua_gettop(state) !== 1) fail(state, "bad argument #1 to 'encode' (expected 1 argument)");
    lua.lua_pushstring(state, latin1(encodeValue(state, 0)));
    return 1;
  });
  setFunction(L, 'decode', (state) => {
    const text = Buffer.from(lauxlib.luaL_checklstring(state, 1)).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const detail = (error as Error).message.replace(/^.*?: /, '');
      return fail(state, `Expected value but found invalid token: ${detail}`);
    }
    pushJson(state, value, 1);
    return 1;
  });
  lua.lua_pushlightuserdata(L, NULL);
  lua.lua_setfield(L, -2, 'null');
}
