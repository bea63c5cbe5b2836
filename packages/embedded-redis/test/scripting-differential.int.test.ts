/**
 * Scripts whose replies Redis 7.0 defines exactly, sent to the embedded server and to a real
 * redis-server: replies (errors included) must be equal.
 */
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realRedisSuite, startRedis } from '../../testing/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

type Call = [string, ...(string | number | Buffer)[]];

const SCRIPTS: Call[] = [
  ['EVAL', 'return 1', 0],
  ['EVAL', 'return 3.7', 0],
  ['EVAL', 'return -0.5', 0],
  ['EVAL', 'return 2^53', 0],
  ['EVAL', 'return true', 0],
  ['EVAL', 'return false', 0],
  ['EVAL', 'return nil', 0],
  ['EVAL', "return 'text'", 0],
  ['EVAL', "return {1, 'a', {2, {3}}, false, 'after-nil'}", 0],
  ['EVAL', "return {1, nil, 'hidden'}", 0],
  ['EVAL', 'return {}', 0],
  ['EVAL', "return {ok='STATUS'}", 0],
  ['EVAL', "return {err='CODE message'}", 0],
  ['EVAL', "return {err='nocode'}", 0],
  ['EVAL', "return redis.error_reply('nocode')", 0],
  ['EVAL', "return redis.error_reply('CODE with text')", 0],
  ['EVAL', "return redis.status_reply('PONG')", 0],
  ['EVAL', 'return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}', 2, 'k1', 'k2', 'a1', Buffer.from([0, 0xff])],
  ['EVAL', 'return #ARGV', 0, 'a', 'b', 'c'],
  [
    'EVAL',
    "return tostring(1/3) .. ' ' .. tostring(10/2) .. ' ' .. tostring(1e15) .. ' ' .. tostring(2^63) .. ' ' .. tostring(-0.0)",
    0,
  ],
  [
    'EVAL',
    "return string.format('%d %5.2f %x %s %q %g %e', 2^40, 3.14159, 255, 'str', 'q\"', 1e20, 12345.6789)",
    0,
  ],
  ['EVAL', "return tonumber('0x1F') + tonumber('  12  ') + tonumber('ff', 16) + tonumber('777', 8)", 0],
  ['EVAL', "return {tonumber('abc'), 1}", 0],
  ['EVAL', 'return math.floor(7.9) + math.max(1, 5, 3) + math.fmod(7, 3) + math.abs(-2)', 0],
  ['EVAL', "return string.rep('ab', 3) .. string.upper('x') .. string.sub('hello', 2, -2) .. #'four'", 0],
  ['EVAL', "local t = {} for w in string.gmatch('a,b,c', '[^,]+') do t[#t+1] = w end return t", 0],
  ['EVAL', "return {string.find('hello world', 'o w'), string.match('key:42', '(%a+):(%d+)')}", 0],
  ['EVAL', "local t = {3,1,2} table.sort(t) return table.concat(t, '-') .. ' ' .. table.getn(t)", 0],
  ['EVAL', 'return {unpack({1, 2, 3})}', 0],
  ['EVAL', "return select('#', 1, 2, 3)", 0],
  ['EVAL', "return cjson.encode({1, 2.5, 'x', true, cjson.null})", 0],
  ['EVAL', 'return cjson.encode({key = {1, 2}})', 0],
  ['EVAL', "return cjson.encode('\\1\\31\"/\\\\')", 0],
  ['EVAL', 'return cjson.encode({[1]=1, [3]=3})', 0],
  ['EVAL', 'return cjson.decode(\'[1, "two", [3.5]]\')[3][1]', 0],
  ['EVAL', "return cmsgpack.pack(1, -1, 127, 128, -33, 65535, 65536, -32769, 4294967296, 0.25, 0.1, 'x')", 0],
  ['EVAL', 'return cmsgpack.pack({a = 1})', 0],
  ['EVAL', "return {cmsgpack.unpack(cmsgpack.pack({1, 2, {3}}, 'z', -7))}", 0],
  [
    'EVAL',
    'return {bit.band(-1, 0xff), bit.bor(1, 2), bit.bxor(7, 2), bit.bnot(0), bit.lshift(1, 4), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.tohex(-1), bit.tohex(255, 4)}',
    0,
  ],
  ['EVAL', "return redis.sha1hex('hello')", 0],
  ['EVAL', 'return redis.REDIS_VERSION_NUM', 0],
  ['EVAL', "return redis.call('PING')", 0],
  ['EVAL', "return redis.call('ECHO', 'e')", 0],
  [
    'EVAL',
    "redis.call('SET', 'd:x', '5') return {redis.call('INCRBY', 'd:x', 3), redis.call('GET', 'd:x'), redis.call('GET', 'd:none')}",
    0,
  ],
  [
    'EVAL',
    "redis.call('DEL', 'd:l') redis.call('RPUSH', 'd:l', 'a', 'b') return redis.call('LRANGE', 'd:l', 0, -1)",
    0,
  ],
  ['EVAL', "return redis.call('SET', 'd:y', 1.5, 'PX', 60000)", 0],
  ['EVAL', "return redis.call('GET', 'd:y')", 0],
  ['EVAL', "return redis.pcall('INCR', 'd:l')", 0],
  ['EVAL', "return redis.call('INCR', 'd:l')", 0],
  ['EVAL', "return redis.call('NOSUCH')", 0],
  ['EVAL', "return redis.pcall('NOSUCH')", 0],
  ['EVAL', "return redis.call('GET')", 0],
  ['EVAL', 'return redis.call()', 0],
  ['EVAL', "return redis.call('GET', {})", 0],
  ['EVAL', "return redis.call('SUBSCRIBE', 'c')", 0],
  ['EVAL', "return redis.call('EVAL', 'return 1', 0)", 0],
  ['EVAL', "return redis.call('BLPOP', 'd:empty', 0)", 0],
  ['EVAL', "return redis.call('XREAD', 'BLOCK', 0, 'STREAMS', 'd:nostream', '$')", 0],
  ['EVAL', "return redis.call('MULTI')", 0],
  ['EVAL', "redis.call('SELECT', 1) redis.call('SET', 'd:db1', 'one') return redis.call('GET', 'd:db1')", 0],
  ['EVAL', "return redis.call('GET', 'd:db1')", 0],
  ['EVAL', "local ok, err = pcall(redis.call, 'INCR', 'd:l') return {tostring(ok), err}", 0],
  ['EVAL', "local ok, err = pcall(error, 'plain') return {tostring(ok), err}", 0],
  ['EVAL', "error('raised')", 0],
  ['EVAL', "error({err='TABLE raised'})", 0],
  ['EVAL', 'return undefined_global', 0],
  ['EVAL', 'newglobal = 1', 0],
  ['EVAL', 'local x = nil; return x.field', 0],
  ['EVAL', 'return 1 + {}', 0],
  ['EVAL', 'return 1 +', 0],
  ['EVAL', 'return (', 0],
  ['EVAL', 'x =', 0],
  ['EVAL', "redis.setresp(3) return redis.call('PING')", 0],
  ['EVAL', 'redis.setresp(4)', 0],
  ['EVAL', 'return redis.sha1hex()', 0],
  ['EVAL', 'redis.log(1)', 0],
  ['EVAL', "redis.log('x', 'y')", 0],
  ['EVAL', "redis.log(9, 'y')", 0],
  ['EVAL', 'return redis.error_reply(1)', 0],
  ['EVAL', 'return redis.status_reply()', 0],
  ['EVAL', 'redis.setresp()', 0],
  ['EVAL', 'return cjson.encode(function() end)', 0],
  ['EVAL', 'return cmsgpack.pack()', 0],
  ['EVAL', 'local t = nil; t()', 0],
  ['EVAL', 'local t = {} return t.a.b', 0],
  ['EVAL', "return 'a' .. {}", 0],
  ['EVAL', 'return {} < {}', 0],
  ['EVAL', 'return #nil', 0],
  ['EVAL', 'return 1', -1],
  ['EVAL', 'return 1', 3, 'a'],
  ['EVAL', 'return 1', 'notanumber'],
  ['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', 0],
  ['EVALSHA', 'short', 0],
  ['EVAL_RO', "return redis.call('SET', 'd:ro', 'x')", 0],
  ['EVAL_RO', "return redis.call('GET', 'd:x')", 0],
  ['SCRIPT', 'LOAD', 'return 42'],
  ['EVALSHA', '1fa00e76656cc152ad327c13fe365858fd7be306', 0],
  ['SCRIPT', 'EXISTS', '1fa00e76656cc152ad327c13fe365858fd7be306', 'nope'],
  ['SCRIPT', 'LOAD', 'return +'],
  ['SCRIPT', 'KILL'],
  ['SCRIPT', 'FLUSH', 'BAD'],
  ['SCRIPT', 'NOSUCH'],
  ['SCRIPT', 'FLUSH'],
  ['SCRIPT', 'EXISTS', '1fa00e76656cc152ad327c13fe365858fd7be306'],
];

let embedded: EmbeddedRedis;
let real: Awaited<ReturnType<typeof startRedis>>;
let onEmbedded: Redis;
let onReal: Redis;

const suite = realRedisSuite(
  'scripts on the embedded server and on redis-server',
  'the reference replies the embedded server is compared with',
);

beforeAll(async () => {
  if (suite.skip) return;
  [embedded, real] = await Promise.all([startEmbeddedRedis(), startRedis({ server: 'real' })]);
  onEmbedded = new Redis(embedded.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
  onReal = new Redis(real.url, { maxRetriesPerRequest: 0 });
});

afterAll(async () => {
  onEmbedded?.disconnect();
  onReal?.disconnect();
  await Promise.all([embedded?.close(), real?.stop()]);
});

async function reply(client: Redis, call: Call): Promise<unknown> {
  try {
    return await client.callBuffer(call[0], ...call.slice(1));
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

describe.skipIf(suite.skip)(suite.title, () => {
  it('give the same replies, errors included', async () => {
    const mismatches: string[] = [];
    for (const call of SCRIPTS) {
      const [mine, theirs] = await Promise.all([reply(onEmbedded, call), reply(onReal, call)]);
      try {
        expect(mine).toEqual(theirs);
      } catch {
        mismatches.push(
          `${JSON.stringify(call.map(String))}\n  embedded: ${String(mine)}\n  redis:    ${String(theirs)}`,
        );
      }
    }
    expect(mismatches.join('\n')).toBe('');
  });
});
