/**
 * The script engine: one Lua state per server (as Redis has), a cache of compiled scripts by
 * SHA1, the `redis` library, and the conversions between Redis replies and Lua values Redis 7.0
 * documents.
 *
 * Scripts run synchronously on the event loop: nothing else is served while one runs. So no
 * other client can ever see `BUSY` and `SCRIPT KILL` can never reach a running script. Instead a
 * count hook checks the elapsed time every few thousand instructions and, once a script has run
 * past `lua-time-limit` ms (or `busy-reply-threshold`, default 5000; 0 = no limit, as in Redis),
 * aborts it with an error, so a runaway script costs the server that long and no more. Writes it made before that stay (there
 * is no rollback, as in Redis, where a script that wrote can only be stopped by SHUTDOWN NOSAVE).
 */
import { createHash } from 'node:crypto';
import type { ClientState, CommandContext, CommandSpec, ReplyWriter, ServerCore } from '../types.js';
import { openBit } from './bit.js';
import { openCjson } from './cjson.js';
import { openCmsgpack } from './cmsgpack.js';
import { formatG } from './format.js';
import { type ReplyNode, TreeWriter } from './reply-tree.js';
import {
  type LuaState,
  latin1,
  lauxlib,
  lua,
  numberText,
  openLibraries,
  raise,
  setFunction,
  toBuffer,
  toLatin1,
} from './runtime.js';

/** The Redis version scripts see in `redis.REDIS_VERSION`. */
export const SCRIPT_REDIS_VERSION = '7.0.15';
const VERSION_NUM = 0x07000f;
const DEFAULT_TIME_LIMIT_MS = 5000;
/** Instructions between two time checks of a running script. */
const HOOK_INTERVAL = 10_000;
const CHUNK_NAME = '@user_script';
const MAX_REPLY_DEPTH = 1000;

/** The reply of `EVALSHA` for a script that is not cached. */
export const NOSCRIPT_ERROR = 'NOSCRIPT No matching script. Please use EVAL.';

interface Run {
  readonly ctx: CommandContext;
  readonly client: ClientState;
  readonly sha: string;
  readonly readOnly: boolean;
  readonly startedAt: number;
  readonly limitMs: number;
  resp: 2 | 3;
  killed: boolean;
}

/** Lowercase hex SHA1 of `data`, as `SCRIPT LOAD` and `redis.sha1hex` return it. */
export function sha1hex(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/** The positions of a command's keys in `args` (`args[0]` is the name), as COMMAND INFO defines them. */
export function keyPositions(spec: CommandSpec, args: Buffer[]): number[] {
  if (spec.keys) return spec.keys(args);
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? args.length + spec.lastKey : spec.lastKey;
  const positions: number[] = [];
  for (let i = spec.firstKey; i <= last && i < args.length; i += Math.max(1, spec.step)) positions.push(i);
  return positions;
}

/** Replaces CR and LF, which a RESP error or status line cannot hold, by spaces (as Redis does). */
function oneLine(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]+/g, ' ') : text;
}

/** Lua's view of a command's spec: the subcommand's when there is one. */
function effectiveSpec(spec: CommandSpec, args: Buffer[]): CommandSpec {
  if (spec.subcommands && args.length > 1) {
    const sub = spec.subcommands[args[1]!.toString('latin1').toLowerCase()];
    if (sub) return sub;
  }
  return spec;
}

/** A server's script engine and cache. */
export class ScriptEngine {
  readonly #server: ServerCore;
  #L: LuaState;
  /** sha → registry reference of the compiled function. */
  #scripts = new Map<string, number>();
  #handlerRef = 0;
  #run: Run | undefined;

  constructor(server: ServerCore) {
    this.#server = server;
    this.#L = this.#createState();
  }

  /** True while a script runs (only ever observable from inside it). */
  get running(): boolean {
    return this.#run !== undefined;
  }

  /** True when a script with this sha is cached. */
  has(sha: string): boolean {
    return this.#scripts.has(sha.toLowerCase());
  }

  /** Compiles and caches `body`; returns its sha, or the error reply when it does not compile. */
  load(body: Buffer): { sha: string } | { error: string } {
    const sha = sha1hex(body);
    if (this.#scripts.has(sha)) return { sha };
    const error = this.#compile(body, sha);
    return error === undefined ? { sha } : { error };
  }

  /** Forgets every cached script and starts a fresh Lua state (SCRIPT FLUSH). */
  flush(): void {
    this.#scripts.clear();
    this.#L = this.#createState();
  }

  /**
   * Runs a script and writes its reply to `ctx.out`: the cached one with `sha`, compiled from
   * `body` first when given and not cached; without `body` an uncached sha replies NOSCRIPT.
   */
  run(
    ctx: CommandContext,
    sha: string,
    body: Buffer | undefined,
    keys: Buffer[],
    argv: Buffer[],
    readOnly: boolean,
  ): void {
    let ref = this.#scripts.get(sha);
    if (ref === undefined) {
      if (body === undefined) {
        ctx.out.error(NOSCRIPT_ERROR);
        return;
      }
      const error = this.#compile(body, sha);
      if (error !== undefined) {
        ctx.out.error(error);
        return;
      }
      ref = this.#scripts.get(sha)!;
    }
    if (this.#run !== undefined) {
      ctx.out.error('ERR This Redis command is not allowed from script');
      return;
    }
    const L = this.#L;
    lua.lua_settop(L, 0);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.#handlerRef);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    setArray(L, 'KEYS', keys);
    setArray(L, 'ARGV', argv);
    lua.lua_pop(L, 1);
    const client = ctx.client;
    const savedDb = client.db;
    const savedProtocol = client.protocol;
    const run: Run = {
      ctx,
      client,
      sha,
      readOnly,
      startedAt: performance.now(),
      limitMs: this.#timeLimitMs(),
      resp: 2,
      killed: false,
    };
    this.#run = run;
    let status: number;
    try {
      status = lua.lua_pcall(L, 0, 1, 1);
    } finally {
      this.#run = undefined;
      client.db = savedDb;
      client.protocol = savedProtocol;
    }
    if (status === lua.LUA_OK) {
      writeLua(L, -1, ctx.out, run.resp, 0);
    } else {
      ctx.out.error(this.#errorReply(L, sha));
    }
    lua.lua_settop(L, 0);
  }

  /**
   * `lua-time-limit` or its Redis 7 name `busy-reply-threshold` (whichever was changed from the
   * default), in ms; 0 or less means no limit, as in Redis.
   */
  #timeLimitMs(): number {
    const config = this.#server.config;
    const parse = (name: string): number | undefined => {
      const text = config.get(name);
      const value = text === undefined ? Number.NaN : Number(text);
      return Number.isFinite(value) ? value : undefined;
    };
    const classic = parse('lua-time-limit');
    const modern = parse('busy-reply-threshold');
    const value =
      classic !== undefined && classic !== DEFAULT_TIME_LIMIT_MS
        ? classic
        : (modern ?? classic ?? DEFAULT_TIME_LIMIT_MS);
    return value > 0 ? value : Number.POSITIVE_INFINITY;
  }

  #compile(body: Buffer, sha: string): string | undefined {
    const L = this.#L;
    const cached = BYTECODE.get(sha);
    // Only text is accepted from clients (a binary chunk could break the VM, as in Redis); a
    // chunk this process compiled before is reloaded from its bytecode, many times faster than
    // fengari parses (a new server, a restart, SCRIPT FLUSH).
    const status =
      cached !== undefined
        ? lauxlib.luaL_loadbufferx(L, cached, cached.length, CHUNK_NAME, 'b')
        : lauxlib.luaL_loadbufferx(L, body, body.length, CHUNK_NAME, 't');
    if (status !== lua.LUA_OK) {
      // Lua 5.3 writes `near <eof>` where the 5.1 that Redis embeds writes `near '<eof>'`.
      const message = toLatin1(L, -1).replace(/ near <eof>$/, " near '<eof>'");
      lua.lua_pop(L, 1);
      return oneLine(`ERR Error compiling script (new function): ${message}`);
    }
    if (cached === undefined) rememberBytecode(L, sha);
    this.#scripts.set(sha, lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX));
    return undefined;
  }

  /** The error reply for the error table the message handler left on the stack. */
  #errorReply(L: LuaState, sha: string): string {
    if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) return oneLine(`ERR ${toLatin1(L, -1)}`);
    lua.lua_getfield(L, -1, 'err');
    const message = lua.lua_type(L, -1) === lua.LUA_TSTRING ? toLatin1(L, -1) : 'ERR unknown error';
    lua.lua_getfield(L, -2, 'source');
    const source = lua.lua_type(L, -1) === lua.LUA_TSTRING ? toLatin1(L, -1) : undefined;
    lua.lua_getfield(L, -3, 'line');
    const line = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : undefined;
    lua.lua_pop(L, 3);
    if (source === undefined || line === undefined) return oneLine(message);
    return oneLine(`${message} script: ${sha}, on ${source}:${line}.`);
  }

  #createState(): LuaState {
    const L = lauxlib.luaL_newstate();
    openLibraries(L);
    this.#openRedis(L);
    openCjson(L);
    lua.lua_setglobal(L, 'cjson');
    openCmsgpack(L);
    lua.lua_setglobal(L, 'cmsgpack');
    openBit(L);
    lua.lua_setglobal(L, 'bit');
    installPcall(L);
    lua.lua_pushjsfunction(L, errorHandler);
    this.#handlerRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_newtable(L);
    lua.lua_setglobal(L, 'KEYS');
    lua.lua_newtable(L);
    lua.lua_setglobal(L, 'ARGV');
    protectGlobals(L);
    lua.lua_sethook(L, (state) => this.#hook(state), lua.LUA_MASKCOUNT, HOOK_INTERVAL);
    return L;
  }

  #hook(L: LuaState): void {
    const run = this.#run;
    if (run === undefined) return;
    if (!run.killed && performance.now() - run.startedAt <= run.limitMs) return;
    run.killed = true;
    pushErrorTable(
      L,
      `ERR Script killed: it ran past lua-time-limit (${run.limitMs} ms), and while a script runs the embedded server serves no other client, so it cannot wait for SCRIPT KILL`,
    );
    lua.lua_error(L);
  }

  #openRedis(L: LuaState): void {
    lua.lua_newtable(L);
    setFunction(L, 'call', (state) => this.#call(state, true));
    setFunction(L, 'pcall', (state) => this.#call(state, false));
    setFunction(L, 'error_reply', (state) => {
      if (lua.lua_gettop(state) !== 1 || lua.lua_type(state, 1) !== lua.LUA_TSTRING) {
        return fail(state, 'ERR wrong number or type of arguments', false);
      }
      pushErrorTable(state, errorWithCode(toLatin1(state, 1)));
      return 1;
    });
    setFunction(L, 'status_reply', (state) => {
      if (lua.lua_gettop(state) !== 1 || lua.lua_type(state, 1) !== lua.LUA_TSTRING) {
        return fail(state, 'ERR wrong number or type of arguments', false);
      }
      lua.lua_newtable(state);
      lua.lua_pushvalue(state, 1);
      lua.lua_setfield(state, -2, 'ok');
      return 1;
    });
    setFunction(L, 'sha1hex', (state) => {
      if (lua.lua_gettop(state) !== 1) return fail(state, 'ERR wrong number of arguments', true);
      const bytes = lua.lua_tolstring(state, 1) ?? new Uint8Array(0);
      lua.lua_pushstring(state, latin1(sha1hex(bytes)));
      return 1;
    });
    setFunction(L, 'log', (state) => {
      const argc = lua.lua_gettop(state);
      if (argc < 2) return fail(state, 'ERR redis.log() requires two arguments or more.', true);
      if (!lua.lua_isnumber(state, 1))
        return fail(state, 'ERR First argument must be a number (log level).', true);
      const level = lua.lua_tonumber(state, 1);
      if (level < 0 || level > 3) return fail(state, 'ERR Invalid debug level.', true);
      // The embedded server keeps no log file; the message is accepted and dropped.
      return 0;
    });
    setFunction(L, 'setresp', (state) => {
      if (lua.lua_gettop(state) !== 1) return fail(state, 'ERR redis.setresp() requires one argument.', true);
      const resp = lua.lua_tonumber(state, 1);
      if (resp !== 2 && resp !== 3) return fail(state, 'ERR RESP version must be 2 or 3.', true);
      if (this.#run) this.#run.resp = resp;
      return 0;
    });
    setFunction(L, 'set_repl', (state) => {
      if (lua.lua_gettop(state) !== 1)
        return fail(state, 'ERR redis.set_repl() requires two arguments.', true);
      return 0;
    });
    setFunction(L, 'replicate_commands', (state) => {
      lua.lua_pushboolean(state, true);
      return 1;
    });
    setFunction(L, 'breakpoint', (state) => {
      lua.lua_pushboolean(state, false);
      return 1;
    });
    setFunction(L, 'debug', () => 0);
    setFunction(L, 'acl_check_cmd', (state) => {
      const run = this.#run;
      const argc = lua.lua_gettop(state);
      if (run === undefined || argc === 0) {
        return fail(state, 'ERR Please specify at least one argument for this redis lib call', true);
      }
      const args: Buffer[] = [];
      for (let i = 1; i <= argc; i++) {
        const arg = toBuffer(state, i);
        if (arg === undefined)
          return fail(state, 'ERR Lua redis lib command arguments must be strings or integers', true);
        args.push(arg);
      }
      const spec = this.#server.command(args[0]!.toString('latin1').toLowerCase());
      if (spec === undefined) return fail(state, 'ERR Invalid command passed to redis.acl_check_cmd()', true);
      const effective = effectiveSpec(spec, args);
      const denied = this.#server.acl.check(run.client.user, effective, args, keyPositions(effective, args));
      lua.lua_pushboolean(state, denied === undefined);
      return 1;
    });
    const numbers: [string, number][] = [
      ['LOG_DEBUG', 0],
      ['LOG_VERBOSE', 1],
      ['LOG_NOTICE', 2],
      ['LOG_WARNING', 3],
      ['REPL_NONE', 0],
      ['REPL_AOF', 1],
      ['REPL_SLAVE', 2],
      ['REPL_REPLICA', 2],
      ['REPL_ALL', 3],
      ['REDIS_VERSION_NUM', VERSION_NUM],
    ];
    for (const [name, value] of numbers) {
      lua.lua_pushnumber(L, value);
      lua.lua_setfield(L, -2, name);
    }
    lua.lua_pushstring(L, latin1(SCRIPT_REDIS_VERSION));
    lua.lua_setfield(L, -2, 'REDIS_VERSION');
    lua.lua_setglobal(L, 'redis');
  }

  /** `redis.call` (`raise`) and `redis.pcall`. */
  #call(L: LuaState, raiseErrors: boolean): number {
    const run = this.#run;
    const argc = lua.lua_gettop(L);
    if (run === undefined) return raise(L, 'redis.call() can only be used inside a script');
    if (argc === 0) return fail(L, 'ERR Please specify at least one argument for this redis lib call', true);
    const args: Buffer[] = new Array(argc);
    for (let i = 1; i <= argc; i++) {
      const type = lua.lua_type(L, i);
      if (type === lua.LUA_TSTRING) args[i - 1] = Buffer.from(lua.lua_tolstring(L, i)!);
      else if (type === lua.LUA_TNUMBER)
        args[i - 1] = Buffer.from(formatG(lua.lua_tonumber(L, i), 17), 'latin1');
      else return fail(L, 'ERR Lua redis lib command arguments must be strings or integers', true);
    }
    const server = this.#server;
    const spec = server.command(args[0]!.toString('latin1').toLowerCase());
    if (spec === undefined) return fail(L, 'ERR Unknown Redis command called from script', raiseErrors);
    if ((spec.arity > 0 && argc !== spec.arity) || argc < -spec.arity) {
      return fail(L, 'ERR Wrong number of args calling Redis command from script', raiseErrors);
    }
    const effective = effectiveSpec(spec, args);
    if (effective.flags.includes('noscript')) {
      return fail(L, 'ERR This Redis command is not allowed from script', raiseErrors);
    }
    if (run.readOnly && effective.flags.includes('write')) {
      return fail(L, 'ERR Write commands are not allowed from read-only scripts.', raiseErrors);
    }
    const client = run.client;
    const denied = server.acl.check(client.user, effective, args, keyPositions(effective, args));
    if (denied !== undefined) return fail(L, scriptDenial(denied), raiseErrors);
    const out = new TreeWriter(run.resp);
    client.protocol = run.resp;
    server.execute(client, args, out, { noBlock: true, inScript: true });
    const reply = out.root === undefined ? null : out.root;
    if (
      raiseErrors &&
      reply !== null &&
      typeof reply === 'object' &&
      'kind' in reply &&
      reply.kind === 'error'
    ) {
      pushErrorTable(L, reply.text);
      return lua.lua_error(L);
    }
    lua.lua_checkstack(L, 4);
    pushReply(L, reply, run.resp, 0);
    return 1;
  }
}

/** Redis's wording, inside a script, of an ACL denial. */
function scriptDenial(denied: string): string {
  if (denied.includes('access a key') || denied.includes('of the keys')) {
    return "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments";
  }
  if (denied.includes('access a channel') || denied.includes('of the channels')) {
    return "ERR The user executing the script can't publish to the channel mentioned in the command";
  }
  return "ERR The user executing the script can't run this command or subcommand";
}

/** Bytecode of the scripts compiled in this process, by sha (insertion order: the oldest go first). */
const BYTECODE = new Map<string, Uint8Array>();
const BYTECODE_ENTRIES = 1000;

/** Keeps the bytecode of the function on top of the stack for `sha`. */
function rememberBytecode(L: LuaState, sha: string): void {
  const parts: Uint8Array[] = [];
  let length = 0;
  const status = lua.lua_dump(
    L,
    (_state, bytes, size) => {
      parts.push(bytes.slice(0, size));
      length += size;
      return 0;
    },
    null,
    false,
  );
  if (status !== 0) return;
  const code = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    code.set(part, at);
    at += part.length;
  }
  if (BYTECODE.size >= BYTECODE_ENTRIES) BYTECODE.delete(BYTECODE.keys().next().value!);
  BYTECODE.set(sha, code);
}

/** `{ err = message }` on the stack. */
function pushErrorTable(L: LuaState, message: string): void {
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushstring(L, latin1(message));
  lua.lua_setfield(L, -2, 'err');
}

/** Raises (or with `raiseError` false returns) an error table. */
function fail(L: LuaState, message: string, raiseError: boolean): number {
  pushErrorTable(L, message);
  if (raiseError) return lua.lua_error(L);
  return 1;
}

/** Redis's rule for an error text: a leading `-` is dropped, and without a code (a first word) `ERR ` is added. */
function errorWithCode(message: string): string {
  const text = message.startsWith('-') ? message.slice(1) : message;
  return text.includes(' ') ? text : `ERR ${text}`;
}

function setArray(L: LuaState, name: string, values: Buffer[]): void {
  lua.lua_pushstring(L, latin1(name));
  lua.lua_createtable(L, values.length, 0);
  for (let i = 0; i < values.length; i++) {
    lua.lua_pushstring(L, values[i]!);
    lua.lua_rawseti(L, -2, i + 1);
  }
  lua.lua_rawset(L, -3);
}

/**
 * The message handler of a script's pcall: turns the error into an error table and records the
 * script line it came from (the first Lua frame, skipping the JS function that raised it).
 */
function errorHandler(L: LuaState): number {
  const ar = new lua.lua_Debug();
  let source: string | undefined;
  let line: number | undefined;
  for (let level = 1; level <= 2; level++) {
    if (!lua.lua_getstack(L, level, ar)) break;
    lua.lua_getinfo(L, 'Sl', ar);
    const what = ar.what ? Buffer.from(ar.what).toString('latin1') : '';
    if (what === 'J' || what === 'C') continue;
    source = ar.source ? Buffer.from(ar.source).toString('latin1') : undefined;
    line = ar.currentline;
    break;
  }
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, 1, 'err');
    const isError = lua.lua_type(L, -1) === lua.LUA_TSTRING;
    lua.lua_pop(L, 1);
    if (isError) {
      lua.lua_pushvalue(L, 1);
      annotate(L, source, line);
      return 1;
    }
  }
  const text =
    lua.lua_type(L, 1) === lua.LUA_TNUMBER
      ? numberText(lua.lua_tonumber(L, 1))
      : lua51Message(toLatin1(L, 1));
  pushErrorTable(
    L,
    `ERR ${lua.lua_type(L, 1) === lua.LUA_TSTRING || lua.lua_type(L, 1) === lua.LUA_TNUMBER ? text : 'unknown error'}`,
  );
  annotate(L, source, line);
  return 1;
}

const TYPE_ERROR =
  /attempt to (index|call|perform arithmetic on|concatenate|get length of) a (\w+) value \((local|global|field|upvalue|method) '([^']*)'\)/;

/** Lua 5.3's wording of a type error as the Lua 5.1 of Redis words it. */
function lua51Message(message: string): string {
  return message.replace(TYPE_ERROR, "attempt to $1 $3 '$4' (a $2 value)");
}

function annotate(L: LuaState, source: string | undefined, line: number | undefined): void {
  if (source === undefined || line === undefined || line < 0) return;
  lua.lua_getfield(L, -1, 'line');
  const known = lua.lua_type(L, -1) !== lua.LUA_TNIL;
  lua.lua_pop(L, 1);
  if (known) return;
  lua.lua_pushstring(L, latin1(source));
  lua.lua_setfield(L, -2, 'source');
  lua.lua_pushnumber(L, line);
  lua.lua_setfield(L, -2, 'line');
}

/** Redis 7.0's `pcall`: an error table caught is returned as its `err` string. */
function installPcall(L: LuaState): void {
  lua.lua_pushjsfunction(L, (state) => {
    lauxlib.luaL_checkany(state, 1);
    const status = lua.lua_pcall(state, lua.lua_gettop(state) - 1, lua.LUA_MULTRET, 0);
    if (status === lua.LUA_OK) {
      lua.lua_pushboolean(state, true);
      lua.lua_insert(state, 1);
      return lua.lua_gettop(state);
    }
    if (lua.lua_type(state, -1) === lua.LUA_TTABLE) {
      lua.lua_getfield(state, -1, 'err');
      if (lua.lua_type(state, -1) === lua.LUA_TSTRING) lua.lua_remove(state, -2);
      else lua.lua_pop(state, 1);
    }
    lua.lua_pushboolean(state, false);
    lua.lua_insert(state, -2);
    return 2;
  });
  lua.lua_setglobal(L, 'pcall');
}

/** Reading an undefined global or writing any global is an error, as in Redis 7.0. */
function protectGlobals(L: LuaState): void {
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  lua.lua_createtable(L, 0, 2);
  setFunction(L, '__index', (state) => {
    const name = lua.lua_type(state, 2) === lua.LUA_TSTRING ? toLatin1(state, 2) : '';
    if (name === 'loadstring') return 0;
    return raise(state, `Script attempted to access nonexistent global variable '${name}'`);
  });
  setFunction(L, '__newindex', (state) => raise(state, 'Attempt to modify a readonly table'));
  lua.lua_setmetatable(L, -2);
  lua.lua_pop(L, 1);
}

/** Pushes a reply as Redis converts it for Lua (RESP2 or RESP3 rules). */
function pushReply(L: LuaState, node: ReplyNode, resp: 2 | 3, depth: number): void {
  if (node === null) {
    if (resp === 2) lua.lua_pushboolean(L, false);
    else lua.lua_pushnil(L);
    return;
  }
  if (typeof node === 'number') {
    lua.lua_pushnumber(L, node);
    return;
  }
  if (typeof node === 'bigint') {
    lua.lua_pushnumber(L, Number(node));
    return;
  }
  if (Buffer.isBuffer(node)) {
    lua.lua_pushstring(L, node);
    return;
  }
  if (depth > MAX_REPLY_DEPTH) {
    lua.lua_pushnil(L);
    return;
  }
  lua.lua_checkstack(L, 4);
  switch (node.kind) {
    case 'status':
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushstring(L, latin1(node.text));
      lua.lua_setfield(L, -2, 'ok');
      return;
    case 'error':
      pushErrorTable(L, node.text);
      return;
    case 'verbatim':
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, 2);
      lua.lua_pushstring(L, Buffer.from(node.text, 'utf8'));
      lua.lua_setfield(L, -2, 'string');
      lua.lua_pushstring(L, latin1('txt'));
      lua.lua_setfield(L, -2, 'format');
      lua.lua_setfield(L, -2, 'verbatim_string');
      return;
    case 'nullArray':
      if (resp === 2) lua.lua_pushboolean(L, false);
      else lua.lua_pushnil(L);
      return;
    case 'double':
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushnumber(L, node.value);
      lua.lua_setfield(L, -2, 'double');
      return;
    case 'boolean':
      lua.lua_pushboolean(L, node.value);
      return;
    case 'array':
    case 'push': {
      const items = node.items;
      lua.lua_createtable(L, items.length, 0);
      for (let i = 0; i < items.length; i++) {
        pushReply(L, items[i]!, resp, depth + 1);
        lua.lua_rawseti(L, -2, i + 1);
      }
      return;
    }
    case 'map': {
      const items = node.items;
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, items.length / 2);
      for (let i = 0; i + 1 < items.length; i += 2) {
        pushReply(L, items[i]!, resp, depth + 1);
        pushReply(L, items[i + 1]!, resp, depth + 1);
        if (lua.lua_type(L, -2) === lua.LUA_TNIL) lua.lua_pop(L, 2);
        else lua.lua_rawset(L, -3);
      }
      lua.lua_setfield(L, -2, 'map');
      return;
    }
    case 'set': {
      const items = node.items;
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, items.length);
      for (const item of items) {
        pushReply(L, item, resp, depth + 1);
        if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
          lua.lua_pop(L, 1);
          continue;
        }
        lua.lua_pushboolean(L, true);
        lua.lua_rawset(L, -3);
      }
      lua.lua_setfield(L, -2, 'set');
      return;
    }
  }
}

/** The string field `name` of the table at `index`, or undefined. */
function stringField(L: LuaState, index: number, name: string): string | undefined {
  lua.lua_getfield(L, index, name);
  const value = lua.lua_type(L, -1) === lua.LUA_TSTRING ? toLatin1(L, -1) : undefined;
  lua.lua_pop(L, 1);
  return value;
}

/** Writes the Lua value at `index` as the script's reply, with Redis's Lua→RESP rules. */
function writeLua(L: LuaState, index: number, out: ReplyWriter, resp: 2 | 3, depth: number): void {
  const at = index < 0 ? lua.lua_gettop(L) + index + 1 : index;
  switch (lua.lua_type(L, at)) {
    case lua.LUA_TSTRING:
      out.bulk(Buffer.from(lua.lua_tolstring(L, at)!));
      return;
    case lua.LUA_TNUMBER:
      out.integer(Math.trunc(lua.lua_tonumber(L, at)) || 0);
      return;
    case lua.LUA_TBOOLEAN:
      if (resp === 3) out.boolean(lua.lua_toboolean(L, at));
      else if (lua.lua_toboolean(L, at)) out.integer(1);
      else out.nullBulk();
      return;
    case lua.LUA_TTABLE:
      break;
    default:
      out.nullBulk();
      return;
  }
  if (depth > MAX_REPLY_DEPTH) {
    out.error('ERR reached lua stack limit');
    return;
  }
  lua.lua_checkstack(L, 4);
  const err = stringField(L, at, 'err');
  if (err !== undefined) {
    out.error(oneLine(err));
    return;
  }
  const ok = stringField(L, at, 'ok');
  if (ok !== undefined) {
    out.simple(oneLine(ok));
    return;
  }
  lua.lua_getfield(L, at, 'double');
  if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
    out.double(lua.lua_tonumber(L, -1));
    lua.lua_pop(L, 1);
    return;
  }
  lua.lua_pop(L, 1);
  lua.lua_getfield(L, at, 'map');
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    const map = lua.lua_gettop(L);
    let count = 0;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, map)) {
      lua.lua_pop(L, 1);
      count++;
    }
    out.map(count);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, map)) {
      writeLua(L, -2, out, resp, depth + 1);
      writeLua(L, -1, out, resp, depth + 1);
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
    return;
  }
  lua.lua_pop(L, 1);
  lua.lua_getfield(L, at, 'set');
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    const set = lua.lua_gettop(L);
    let count = 0;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, set)) {
      lua.lua_pop(L, 1);
      count++;
    }
    out.set(count);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, set)) {
      writeLua(L, -2, out, resp, depth + 1);
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
    return;
  }
  lua.lua_pop(L, 1);
  let length = 0;
  while (lua.lua_rawgeti(L, at, length + 1) !== lua.LUA_TNIL) {
    lua.lua_pop(L, 1);
    length++;
  }
  lua.lua_pop(L, 1);
  out.array(length);
  for (let i = 1; i <= length; i++) {
    lua.lua_rawgeti(L, at, i);
    writeLua(L, -1, out, resp, depth + 1);
    lua.lua_pop(L, 1);
  }
}

const ENGINE = Symbol('relaybus.embedded-redis.scripts');

/** The server's script engine, created on first use. */
export function scriptEngine(server: ServerCore): ScriptEngine {
  return server.extension(ENGINE, () => new ScriptEngine(server));
}
