import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';
import { sha1hex } from '../src/lua/engine.js';

let redis: EmbeddedRedis;
let client: Redis;
let other: Redis;

beforeAll(async () => {
  redis = await startEmbeddedRedis();
  client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  other = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  await other.connect();
});

afterAll(async () => {
  client.disconnect();
  other.disconnect();
  await redis.close();
});

/** The error message a call rejects with. */
async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error reply');
}

function sha(body: string): string {
  return sha1hex(Buffer.from(body));
}

describe('EVAL: KEYS, ARGV and redis.call', () => {
  it('passes keys and arguments and runs commands on the caller database', async () => {
    expect(await client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, 's:a', 'one')).toBe('OK');
    expect(await client.get('s:a')).toBe('one');
    expect(
      await client.eval('return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}', 2, 'k1', 'k2', 'a1'),
    ).toEqual(['k1', 'k2', 'a1', 2, 1]);
  });

  it('converts Lua values to replies as Redis does', async () => {
    expect(await client.eval('return 3.99', 0)).toBe(3);
    expect(await client.eval('return -3.99', 0)).toBe(-3);
    expect(await client.eval('return true', 0)).toBe(1);
    expect(await client.eval('return false', 0)).toBeNull();
    expect(await client.eval('return nil', 0)).toBeNull();
    expect(await client.eval("return {1, 'two', nil, 4}", 0)).toEqual([1, 'two']);
    expect(await client.eval("return {ok='FINE'}", 0)).toBe('FINE');
    expect(await client.eval("return redis.status_reply('DONE')", 0)).toBe('DONE');
    expect(await errorOf(client.eval("return {err='CUSTOM failed'}", 0))).toBe('CUSTOM failed');
    expect(await errorOf(client.eval("return redis.error_reply('plain')", 0))).toBe('ERR plain');
    expect(await errorOf(client.eval("return redis.error_reply('MINE went wrong')", 0))).toBe(
      'MINE went wrong',
    );
  });

  it('converts replies to Lua values as Redis does', async () => {
    await client.del('s:missing', 's:n');
    const body = `
      local missing = redis.call('GET', 's:missing')
      local status = redis.call('SET', 's:n', '41')
      local n = redis.call('INCR', 's:n')
      local err = redis.pcall('INCR', 's:missing-type-check', 'extra')
      return {type(missing), tostring(missing), status.ok, type(n), n + 1, type(err), err.err}`;
    expect(await client.eval(body, 0)).toEqual([
      'boolean',
      'false',
      'OK',
      'number',
      43,
      'table',
      'ERR Wrong number of args calling Redis command from script',
    ]);
  });

  it('keeps binary payloads byte for byte both ways', async () => {
    const payload = Buffer.from([0, 1, 2, 0xf5, 0xff, 0x80, 0x0d, 0x0a, 0xc3, 0x28]);
    const echoed = await client.callBuffer(
      'EVAL',
      "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), #ARGV[1], string.byte(ARGV[1], 4)}",
      1,
      's:bin',
      payload,
    );
    expect(echoed).toEqual([payload, 10, 0xf5]);
    expect(await client.getBuffer('s:bin')).toEqual(payload);
  });

  it('has the Lua 5.1 globals scripts use and numbers that do not wrap at 32 bits', async () => {
    const body = `
      local t = redis.call('TIME')
      local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      return {type(unpack), type(loadstring), string.format('%d', ms), tostring(ms), ms .. '', tostring(10 / 2), 2^53}`;
    const [unpackType, loadstringType, formatted, tostringed, concatenated, half, big] = (await client.eval(
      body,
      0,
    )) as [string, string, string, string, string, string, number];
    expect(unpackType).toBe('function');
    expect(loadstringType).toBe('nil');
    expect(Number(formatted)).toBeGreaterThan(1_600_000_000_000);
    expect(tostringed).toBe(formatted);
    expect(concatenated).toBe(formatted);
    expect(half).toBe('5');
    expect(big).toBe(2 ** 53);
  });

  it('passes numbers to commands as Redis formats them (%.17g)', async () => {
    await client.eval(
      "redis.call('SET', 's:f1', 1.5); redis.call('SET', 's:f2', 3.0); redis.call('SET', 's:f3', 1/3)",
      0,
    );
    expect(await client.mget('s:f1', 's:f2', 's:f3')).toEqual(['1.5', '3', '0.33333333333333331']);
  });
});

describe('EVAL errors', () => {
  it('reports compile errors', async () => {
    expect(await errorOf(client.eval('return 1 +', 0))).toBe(
      "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'",
    );
  });

  it('reports runtime errors with the script sha and line', async () => {
    const body = "local a = 1\nerror('boom')";
    expect(await errorOf(client.eval(body, 0))).toBe(
      `ERR user_script:2: boom script: ${sha(body)}, on @user_script:2.`,
    );
    const global = 'return undefined_thing';
    expect(await errorOf(client.eval(global, 0))).toBe(
      `ERR user_script:1: Script attempted to access nonexistent global variable 'undefined_thing' script: ${sha(global)}, on @user_script:1.`,
    );
    const assign = 'x = 1';
    expect(await errorOf(client.eval(assign, 0))).toBe(
      `ERR user_script:1: Attempt to modify a readonly table script: ${sha(assign)}, on @user_script:1.`,
    );
  });

  it('raises command errors from redis.call and returns them from redis.pcall', async () => {
    await client.set('s:text', 'abc');
    const body = "return redis.call('INCR', 's:text')";
    expect(await errorOf(client.eval(body, 0))).toBe(
      `ERR value is not an integer or out of range script: ${sha(body)}, on @user_script:1.`,
    );
    expect(await errorOf(client.eval("return redis.pcall('INCR', 's:text')", 0))).toBe(
      'ERR value is not an integer or out of range',
    );
    expect(
      await client.eval("local ok, e = pcall(redis.call, 'INCR', 's:text'); return {tostring(ok), e}", 0),
    ).toEqual(['false', 'ERR value is not an integer or out of range']);
    const unknown = "return redis.call('NOSUCHCMD')";
    expect(await errorOf(client.eval(unknown, 0))).toBe(
      `ERR Unknown Redis command called from script script: ${sha(unknown)}, on @user_script:1.`,
    );
  });

  it('checks numkeys', async () => {
    expect(await errorOf(client.eval('return 1', -1))).toBe("ERR Number of keys can't be negative");
    expect(await errorOf(client.eval('return 1', 2, 'a'))).toBe(
      "ERR Number of keys can't be greater than number of args",
    );
    expect(await errorOf(client.call('EVAL', 'return 1', 'x') as Promise<unknown>)).toBe(
      'ERR value is not an integer or out of range',
    );
  });

  it('refuses writes from EVAL_RO', async () => {
    const body = "return redis.call('SET', 's:ro', 'x')";
    expect(await errorOf(client.call('EVAL_RO', body, 0) as Promise<unknown>)).toBe(
      `ERR Write commands are not allowed from read-only scripts. script: ${sha(body)}, on @user_script:1.`,
    );
    await client.set('s:ro2', 'y');
    expect(await client.call('EVAL_RO', "return redis.call('GET', KEYS[1])", 1, 's:ro2')).toBe('y');
  });
});

describe('EVALSHA and SCRIPT', () => {
  it('loads, finds, runs and flushes scripts', async () => {
    const body = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
    const loaded = (await client.script('LOAD', body)) as string;
    expect(loaded).toBe(sha(body));
    await client.del('s:counter');
    expect(await client.evalsha(loaded, 1, 's:counter', 5)).toBe(5);
    expect(await client.evalsha(loaded.toUpperCase(), 1, 's:counter', 5)).toBe(10);
    expect(await client.call('EVALSHA_RO', sha('return 7'), 0).catch((e: Error) => e.message)).toBe(
      'NOSCRIPT No matching script. Please use EVAL.',
    );
    expect(await client.script('EXISTS', loaded, '0000000000000000000000000000000000000000')).toEqual([1, 0]);
    expect(await client.script('FLUSH')).toBe('OK');
    expect(await client.script('EXISTS', loaded)).toEqual([0]);
    expect(await errorOf(client.evalsha(loaded, 1, 's:counter', 5))).toBe(
      'NOSCRIPT No matching script. Please use EVAL.',
    );
  });

  it('caches a script run by EVAL for EVALSHA', async () => {
    const body = "return 'cached'";
    expect(await client.eval(body, 0)).toBe('cached');
    expect(await client.evalsha(sha(body), 0)).toBe('cached');
  });

  it('answers SCRIPT KILL with NOTBUSY and rejects a script that does not compile on LOAD', async () => {
    expect(await errorOf(client.script('KILL'))).toBe('NOTBUSY No scripts in execution right now.');
    expect(await errorOf(client.script('LOAD', 'return +'))).toMatch(
      /^ERR Error compiling script \(new function\)/,
    );
  });
});

describe('Lua libraries', () => {
  it('encodes and decodes JSON with cjson', async () => {
    expect(await client.eval("return cjson.encode({1, 2, {a = 'x/y'}})", 0)).toBe('[1,2,{"a":"x\\/y"}]');
    expect(await client.eval('return cjson.encode(cjson.decode(\'[1,2,null,{"a":1.5}]\'))', 0)).toBe(
      '[1,2,null,{"a":1.5}]',
    );
    expect(await client.eval('return cjson.decode(\'{"n":42}\').n', 0)).toBe(42);
  });

  it('packs MessagePack as Redis does and round-trips binary strings', async () => {
    const packed = await client.callBuffer(
      'EVAL',
      "return cmsgpack.pack({'a', 'bb', 1, 300, -5, 1.5, true})",
      0,
    );
    expect((packed as Buffer).toString('hex')).toBe('97a161a2626201cd012cfbca3fc00000c3');
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    const back = await client.callBuffer(
      'EVAL',
      'local t = cmsgpack.unpack(cmsgpack.pack({ARGV[1], 7})); return {t[1], t[2]}',
      0,
      binary,
    );
    expect(back).toEqual([binary, 7]);
  });

  it('has redis.sha1hex, the version and the bit library', async () => {
    expect(await client.eval("return redis.sha1hex('')", 0)).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(await client.eval('return redis.REDIS_VERSION', 0)).toBe('7.0.15');
    expect(await client.eval('return {bit.band(0xff, 0x0f), bit.tohex(255), bit.bxor(5, 3)}', 0)).toEqual([
      15,
      '000000ff',
      6,
    ]);
    expect(await client.eval("redis.log(redis.LOG_WARNING, 'hello'); return redis.LOG_WARNING", 0)).toBe(3);
  });

  it('returns RESP3 shapes to Lua after redis.setresp(3)', async () => {
    await client.del('s:h');
    await client.hset('s:h', 'f', 'v');
    expect(
      await client.eval("redis.setresp(3); local m = redis.call('HGETALL', 's:h'); return m.map.f", 0),
    ).toBe('v');
    expect(await client.eval("local m = redis.call('HGETALL', 's:h'); return m", 0)).toEqual(['f', 'v']);
  });
});

describe('the script time limit', () => {
  it('aborts a script running past lua-time-limit and goes on serving clients', async () => {
    expect(await client.config('SET', 'lua-time-limit', '200')).toBe('OK');
    try {
      const started = performance.now();
      const message = await errorOf(client.eval('local n = 0 while true do n = n + 1 end', 0));
      const elapsedMs = performance.now() - started;
      expect(message).toMatch(/^ERR Script killed: it ran past lua-time-limit \(200 ms\)/);
      expect(elapsedMs).toBeGreaterThanOrEqual(190);
      expect(elapsedMs).toBeLessThan(5_000);
      expect(await other.ping()).toBe('PONG');
      expect(await client.eval('return 1', 0)).toBe(1);
    } finally {
      await client.config('SET', 'lua-time-limit', '5000');
    }
  });
});

describe('scripts never block', () => {
  it('runs inside MULTI/EXEC', async () => {
    const results = await client.multi().eval("return redis.call('SET', 's:tx', 'in')", 0).get('s:tx').exec();
    expect(results).toEqual([
      [null, 'OK'],
      [null, 'in'],
    ]);
  });
});
