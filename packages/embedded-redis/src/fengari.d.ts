/**
 * Types for the part of `fengari` (pure-JS Lua 5.3, shipped without types) the scripting engine
 * uses. Lua strings are byte arrays (`Uint8Array`); functions that accept a JS string encode it
 * as UTF-8.
 */
declare module 'fengari' {
  /** A Lua state (opaque). */
  export interface LuaState {
    readonly __luaState: unique symbol;
  }
  /** A JS function callable from Lua: reads its arguments from the stack, returns the result count. */
  export type LuaJsFunction = (L: LuaState) => number;
  export type LuaHook = (L: LuaState, ar: LuaDebug) => void;
  export interface LuaDebug {
    event: number;
    currentline: number;
    linedefined: number;
    source: Uint8Array | null;
    short_src: Uint8Array | null;
    what: Uint8Array | null;
    name: Uint8Array | null;
  }
  export type LuaString = Uint8Array;
  type Str = LuaString | string;

  export const lua: {
    readonly LUA_OK: number;
    readonly LUA_YIELD: number;
    readonly LUA_ERRRUN: number;
    readonly LUA_ERRSYNTAX: number;
    readonly LUA_ERRMEM: number;
    readonly LUA_ERRERR: number;
    readonly LUA_TNONE: number;
    readonly LUA_TNIL: number;
    readonly LUA_TBOOLEAN: number;
    readonly LUA_TLIGHTUSERDATA: number;
    readonly LUA_TNUMBER: number;
    readonly LUA_TSTRING: number;
    readonly LUA_TTABLE: number;
    readonly LUA_TFUNCTION: number;
    readonly LUA_TUSERDATA: number;
    readonly LUA_TTHREAD: number;
    readonly LUA_MULTRET: number;
    readonly LUA_REGISTRYINDEX: number;
    readonly LUA_RIDX_GLOBALS: number;
    readonly LUA_MASKCOUNT: number;
    lua_Debug: new () => LuaDebug;
    lua_upvalueindex(index: number): number;
    lua_close(L: LuaState): void;
    lua_gettop(L: LuaState): number;
    lua_settop(L: LuaState, index: number): void;
    lua_pop(L: LuaState, n: number): void;
    lua_pushvalue(L: LuaState, index: number): void;
    lua_remove(L: LuaState, index: number): void;
    lua_insert(L: LuaState, index: number): void;
    lua_checkstack(L: LuaState, n: number): boolean;
    lua_type(L: LuaState, index: number): number;
    lua_typename(L: LuaState, type: number): LuaString;
    lua_pushnil(L: LuaState): void;
    lua_pushboolean(L: LuaState, value: boolean): void;
    lua_pushinteger(L: LuaState, value: number): void;
    lua_pushnumber(L: LuaState, value: number): void;
    lua_pushstring(L: LuaState, value: Str): LuaString;
    lua_pushliteral(L: LuaState, value: string): LuaString;
    lua_pushjsfunction(L: LuaState, fn: LuaJsFunction): void;
    lua_pushjsclosure(L: LuaState, fn: LuaJsFunction, n: number): void;
    lua_pushlightuserdata(L: LuaState, value: unknown): void;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_newtable(L: LuaState): void;
    lua_setfield(L: LuaState, index: number, key: Str): void;
    lua_getfield(L: LuaState, index: number, key: Str): number;
    lua_rawget(L: LuaState, index: number): number;
    lua_rawset(L: LuaState, index: number): void;
    lua_rawgeti(L: LuaState, index: number, n: number): number;
    lua_rawseti(L: LuaState, index: number, n: number): void;
    lua_rawlen(L: LuaState, index: number): number;
    lua_rawequal(L: LuaState, a: number, b: number): boolean;
    lua_next(L: LuaState, index: number): boolean;
    lua_getglobal(L: LuaState, name: Str): number;
    lua_setglobal(L: LuaState, name: Str): void;
    lua_setmetatable(L: LuaState, index: number): void;
    lua_toboolean(L: LuaState, index: number): boolean;
    lua_tonumber(L: LuaState, index: number): number;
    lua_tonumberx(L: LuaState, index: number): number | false;
    lua_tointegerx(L: LuaState, index: number): number | false;
    lua_isinteger(L: LuaState, index: number): boolean;
    lua_isnumber(L: LuaState, index: number): boolean;
    lua_isstring(L: LuaState, index: number): boolean;
    lua_tolstring(L: LuaState, index: number): LuaString | null;
    lua_tostring(L: LuaState, index: number): LuaString | null;
    lua_touserdata(L: LuaState, index: number): unknown;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_call(L: LuaState, nargs: number, nresults: number): void;
    lua_error(L: LuaState): never;
    lua_concat(L: LuaState, n: number): void;
    lua_dump(
      L: LuaState,
      writer: (L: LuaState, bytes: Uint8Array, size: number, data: unknown) => number,
      data: unknown,
      strip: boolean,
    ): number;
    lua_sethook(L: LuaState, hook: LuaHook | null, mask: number, count: number): void;
    lua_getstack(L: LuaState, level: number, ar: LuaDebug): boolean;
    lua_getinfo(L: LuaState, what: Str, ar: LuaDebug): boolean;
  };

  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_loadbuffer(L: LuaState, buffer: LuaString, size: number, name: Str): number;
    luaL_loadbufferx(L: LuaState, buffer: LuaString, size: number, name: Str, mode: Str | null): number;
    luaL_ref(L: LuaState, table: number): number;
    luaL_unref(L: LuaState, table: number, ref: number): void;
    luaL_error(L: LuaState, fmt: Str, ...args: unknown[]): never;
    luaL_where(L: LuaState, level: number): void;
    luaL_requiref(L: LuaState, name: Str, open: LuaJsFunction, global: boolean): void;
    luaL_checkinteger(L: LuaState, arg: number): number;
    luaL_checknumber(L: LuaState, arg: number): number;
    luaL_checklstring(L: LuaState, arg: number): LuaString;
    luaL_optinteger(L: LuaState, arg: number, def: number): number;
    luaL_checkany(L: LuaState, arg: number): void;
    luaL_checktype(L: LuaState, arg: number, type: number): void;
    luaL_tolstring(L: LuaState, index: number): LuaString;
  };

  export const lualib: {
    luaopen_base: LuaJsFunction;
    luaopen_table: LuaJsFunction;
    luaopen_string: LuaJsFunction;
    luaopen_math: LuaJsFunction;
  };

  export function to_luastring(value: string, cache?: boolean): LuaString;
  export function to_jsstring(
    value: LuaString,
    from?: number,
    to?: number,
    replacement_char?: boolean,
  ): string;
}
