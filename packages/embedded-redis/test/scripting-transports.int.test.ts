/**
 * Every Lua script of relaybus's Redis transports (packages/<pkg>/scripts/*.lua and the redis
 * package's test fixture) run with representative arguments against the embedded server and a
 * real redis-server, the same sequence on both; the transcripts of replies must be equal once
 * values that depend on the clock (stream ids from `*`, TIME-based scores, idle times) are
 * normalised.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realRedisSuite, startRedis } from '../../testing/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

const PACKAGES = new URL('../../', import.meta.url);

function scriptBody(path: string): string {
  return readFileSync(new URL(path, PACKAGES), 'utf8');
}

type Arg = string | Buffer | number;

/** A step: a command, or the case's script run with numkeys and args; `map` reshapes a reply that depends on time. */
interface Step {
  readonly cmd?: Arg[];
  readonly run?: [number, ...Arg[]];
  readonly map?: (reply: unknown) => unknown;
}

interface Case {
  readonly name: string;
  readonly script: string;
  readonly steps: readonly Step[];
}

const entry = (count: number, payload: string): Buffer =>
  Buffer.concat([
    Buffer.from([0xf5, 0x52, 0x4c, 0x31]),
    Buffer.from(count.toString(16).padStart(8, '0')),
    Buffer.from(payload),
  ]);

const positive = (reply: unknown) => typeof reply === 'number' && reply > 0;
/** XPENDING extended rows with the idle time bucketed (at least `atLeast` ms). */
const idleAtLeast = (atLeast: number) => (reply: unknown) =>
  (reply as unknown[][]).map((row) => [row[0], row[1], (row[2] as number) >= atLeast, row[3]]);
/** `{ count, ms until next }` of the promote scripts: the wait only as "some". */
const promoted = (reply: unknown) => {
  const [count, wait] = reply as [number, number];
  return [count, wait > 0 ? 'waits' : wait];
};

/** A stream with two entries read by consumer c1 of group g: both pending with c1. */
const pendingStream = (s: string): Step[] => [
  { cmd: ['XADD', s, '1-1', 'a', '1'] },
  { cmd: ['XADD', s, '2-1', 'b', '2', 'd', '3'] },
  { cmd: ['XGROUP', 'CREATE', s, 'g', '0'] },
  { cmd: ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '10', 'STREAMS', s, '>'] },
];

const CASES: Case[] = [
  {
    name: 'redis fixture add-to-counter',
    script: 'redis/test/fixtures/add-to-counter.lua',
    steps: [
      { run: [1, 'n', '5'] },
      { run: [1, 'n', '-7'] },
      { cmd: ['SET', 'text', 'x'] },
      { run: [1, 'text', '1'] },
    ],
  },
  {
    name: 'streams lease and unlease',
    script: 'redis-streams/scripts/lease.lua',
    steps: [
      { run: [1, 'lease', 'tokA', '10000'] },
      { run: [1, 'lease', 'tokA', '10000'] },
      { run: [1, 'lease', 'tokB', '10000'] },
      { cmd: ['GET', 'lease'] },
      { cmd: ['PTTL', 'lease'], map: positive },
    ],
  },
  {
    name: 'streams unlease',
    script: 'redis-streams/scripts/unlease.lua',
    steps: [
      { cmd: ['SET', 'lease', 'tokA'] },
      { run: [1, 'lease', 'tokB'] },
      { run: [1, 'lease', 'tokA'] },
      { cmd: ['EXISTS', 'lease'] },
    ],
  },
  {
    name: 'streams schedule',
    script: 'redis-streams/scripts/schedule.lua',
    steps: [
      {
        run: [
          1,
          'delayed',
          '60000',
          'token-1',
          'name',
          'order',
          'body',
          Buffer.from([0x82, 0xa1, 0x61, 0x01, 0xff]),
        ],
      },
      { run: [1, 'delayed', '0', 'token-2', 'n', '1'] },
      { cmd: ['ZRANGE', 'delayed', '0', '-1'] },
    ],
  },
  {
    name: 'streams promote',
    script: 'redis-streams/scripts/promote.lua',
    steps: [
      { cmd: ['ZADD', 'delayed', '0', Buffer.from('93a6746f6b656e31a16ba176', 'hex')] },
      { cmd: ['ZADD', 'delayed', '1', Buffer.from('95a6746f6b656e32a161a131a162a200ff', 'hex')] },
      { cmd: ['ZADD', 'delayed', '99999999999999', Buffer.from('92a6746f6b656e33a17a', 'hex')] },
      { run: [2, 'delayed', 'stream', '10', 'MAXLEN', '1000'], map: promoted },
      { run: [2, 'delayed', 'stream', '10', '', ''], map: promoted },
      { cmd: ['XRANGE', 'stream', '-', '+'] },
      { cmd: ['ZCARD', 'delayed'] },
    ],
  },
  {
    name: 'streams defer',
    script: 'redis-streams/scripts/defer.lua',
    steps: [
      ...pendingStream('s'),
      { run: [2, 's', 'delayed', 'g', 'c1', '2-1', '2', '5000'] },
      { run: [2, 's', 'delayed', 'g', 'c1', '9-9', '2', '5000'] },
      { cmd: ['XDEL', 's', '1-1'] },
      { run: [2, 's', 'delayed', 'g', 'c1', '1-1', '0', '5000'] },
      { cmd: ['ZRANGE', 'delayed', '0', '-1'] },
      { cmd: ['XPENDING', 's', 'g'] },
    ],
  },
  {
    name: 'streams requeue',
    script: 'redis-streams/scripts/requeue.lua',
    steps: [
      ...pendingStream('s'),
      { run: [1, 's', 'g', 'c1', '', '', '1-1', '2', '2-1', '0', '7-7', '1'] },
      { run: [1, 's', 'g', 'c1', 'MAXLEN', '100', '1-1', '2'] },
      { cmd: ['XRANGE', 's', '-', '+'] },
      { cmd: ['XPENDING', 's', 'g'] },
    ],
  },
  {
    name: 'streams dead-letter',
    script: 'redis-streams/scripts/dead-letter.lua',
    steps: [
      ...pendingStream('s'),
      { run: [2, 's', 'dlq', 'g', 'c1', '100', 'orders', '2-1', 'boom', '3'] },
      { run: [2, 's', 'dlq', 'g', 'c1', '100', 'orders', '2-1', 'boom', '3'] },
      { cmd: ['XDEL', 's', '1-1'] },
      { run: [2, 's', 'dlq', 'g', 'c1', '100', 'orders', '1-1', 'gone', '1'] },
      { cmd: ['XRANGE', 'dlq', '-', '+'] },
      { cmd: ['XPENDING', 's', 'g'] },
    ],
  },
  {
    name: 'streams release',
    script: 'redis-streams/scripts/release.lua',
    steps: [
      ...pendingStream('s'),
      { run: [1, 's', 'g', 'c1', '60000', '1-1', '0', '2-1', '3', '8-8', '1'] },
      { cmd: ['XPENDING', 's', 'g', '-', '+', '10'], map: idleAtLeast(60000) },
    ],
  },
  {
    name: 'streams touch',
    script: 'redis-streams/scripts/touch.lua',
    steps: [
      ...pendingStream('s'),
      { run: [1, 's', 'g', 'c1', '1-1', '3-1', '1-1', '2-1', '3-1'] },
      { cmd: ['XPENDING', 's', 'g', '-', '+', '10'], map: idleAtLeast(0) },
    ],
  },
  {
    name: 'streams reclaim',
    script: 'redis-streams/scripts/reclaim.lua',
    steps: [
      ...pendingStream('s'),
      { cmd: ['XADD', 's', '3-1', 'c', '3'] },
      { cmd: ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '10', 'STREAMS', 's', '>'] },
      { cmd: ['XDEL', 's', '3-1'] },
      { run: [2, 's', 'dlq', 'g', 'c2', '0', '0-0', '10', '0', 'orders', '100'] },
      { run: [2, 's', 'dlq', 'g', 'c3', '0', '0-0', '10', '3', 'orders', '100'] },
      { cmd: ['XRANGE', 'dlq', '-', '+'] },
      { cmd: ['XPENDING', 's', 'g'] },
    ],
  },
  {
    name: 'streams replay',
    script: 'redis-streams/scripts/replay.lua',
    steps: [
      {
        cmd: [
          'XADD',
          'dlq',
          '1-1',
          'a',
          '1',
          'r',
          'boom',
          's',
          'orders',
          'e',
          '5-1',
          'd',
          '2',
          'w',
          '1700000000000000',
        ],
      },
      { cmd: ['XADD', 'dlq', '2-1', 'b', '2', 'q', '1-1'] },
      { cmd: ['XADD', 'dlq', '3-1', 'c', '3'] },
      { run: [2, 'dlq', 's', '2', '', ''] },
      { run: [2, 'dlq', 's', '10', 'MAXLEN', '100'] },
      { cmd: ['XRANGE', 's', '-', '+'] },
      { cmd: ['XLEN', 'dlq'] },
    ],
  },
  {
    name: 'streams members',
    script: 'redis-streams/scripts/members.lua',
    steps: [
      { run: [1, 'members', 'm1', '10000', '0'] },
      { run: [1, 'members', 'm2', '10000', '0'] },
      { cmd: ['ZADD', 'members', '1', 'stale'] },
      { run: [1, 'members', 'm1', '10000', '1'] },
      { cmd: ['PTTL', 'members'], map: positive },
    ],
  },
  {
    name: 'streams prune-consumers',
    script: 'redis-streams/scripts/prune-consumers.lua',
    steps: [
      ...pendingStream('s'),
      { cmd: ['XGROUP', 'CREATECONSUMER', 's', 'g', 'c2'] },
      { cmd: ['XGROUP', 'CREATECONSUMER', 's', 'g', 'c3'] },
      { run: [1, 's', 'g', '0', '', 'c3'] },
      { run: [1, 's', 'nosuchgroup', '0', '', ''] },
      { run: [1, 'nostream', 'g', '0', '', ''] },
      { cmd: ['XINFO', 'CONSUMERS', 's', 'g'], map: (r) => (r as unknown[][]).map((c) => [c[1], c[3]]) },
    ],
  },
  {
    name: 'lists heartbeat',
    script: 'redis-lists/scripts/heartbeat.lua',
    steps: [
      { run: [2, 'hb', 'registry', 'c1', '10000', '60000', 'host-1'] },
      { run: [2, 'hb', 'registry', 'c1', '10000', '60000', 'host-1'] },
      { cmd: ['GET', 'hb'] },
      { cmd: ['ZRANGE', 'registry', '0', '-1'] },
    ],
  },
  {
    name: 'lists take',
    script: 'redis-lists/scripts/take.lua',
    steps: [
      { cmd: ['RPUSH', 'queue', 'e1', 'e2', 'e3'] },
      { run: [2, 'queue', 'proc', '2'] },
      { run: [2, 'queue', 'proc', '5'] },
      { run: [2, 'queue', 'proc', '5'] },
      { cmd: ['LRANGE', 'proc', '0', '-1'] },
    ],
  },
  {
    name: 'lists ack',
    script: 'redis-lists/scripts/ack.lua',
    steps: [
      { cmd: ['LPUSH', 'proc', 'e1', 'e2', 'e1'] },
      { run: [1, 'proc', 'e1', 'zz', 'e2'] },
      { cmd: ['LRANGE', 'proc', '0', '-1'] },
    ],
  },
  {
    name: 'lists adopt',
    script: 'redis-lists/scripts/adopt.lua',
    steps: [
      { cmd: ['RPUSH', 'proc', 'raw1', 'raw2'] },
      { run: [1, 'proc', 'raw2', entry(1, 'raw2'), 'nope', 'x'] },
      { cmd: ['LRANGE', 'proc', '0', '-1'] },
    ],
  },
  {
    name: 'lists reap',
    script: 'redis-lists/scripts/reap.lua',
    steps: [
      { cmd: ['SET', 'hb', 'alive'] },
      { cmd: ['LPUSH', 'proc', entry(1, 'old'), 'raw', entry(4294967295, 'max')] },
      { run: [4, 'hb', 'proc', 'queue', 'registry', 'c1', ''] },
      { run: [4, 'hb', 'proc', 'queue', 'registry', 'c1', 'force'] },
      { cmd: ['LRANGE', 'queue', '0', '-1'] },
      { cmd: ['DEL', 'hb'] },
      { cmd: ['ZADD', 'registry', '1', 'c1', '99999999999999', 'c2'] },
      { run: [4, 'hb', 'proc', 'queue', 'registry', 'c1', ''] },
      { run: [4, 'hb', 'proc', 'queue', 'registry', 'c2', ''] },
      { cmd: ['ZRANGE', 'registry', '0', '-1'] },
    ],
  },
  {
    name: 'lists promote',
    script: 'redis-lists/scripts/promote.lua',
    steps: [
      { cmd: ['ZADD', 'delayed', '1', Buffer.concat([Buffer.from('n1'), entry(2, 'due')])] },
      { cmd: ['ZADD', 'delayed', '99999999999999', Buffer.concat([Buffer.from('n2'), entry(1, 'later')])] },
      { run: [2, 'delayed', 'queue', '10', '2'], map: promoted },
      { run: [2, 'delayed', 'queue', '10', '2'], map: promoted },
      { cmd: ['LRANGE', 'queue', '0', '-1'] },
    ],
  },
  {
    name: 'lists release',
    script: 'redis-lists/scripts/release.lua',
    steps: [
      { cmd: ['LPUSH', 'proc', 'e1', 'e2', 'e3'] },
      { run: [2, 'proc', 'queue', 'e3', 'missing', 'e1'] },
      { cmd: ['LRANGE', 'queue', '0', '-1'] },
      { cmd: ['LRANGE', 'proc', '0', '-1'] },
    ],
  },
  {
    name: 'lists defer',
    script: 'redis-lists/scripts/defer.lua',
    steps: [
      { cmd: ['LPUSH', 'proc', entry(1, 'job')] },
      { run: [2, 'proc', 'delayed', entry(1, 'job'), '2', '5000', 'nonce'] },
      { run: [2, 'proc', 'delayed', entry(1, 'job'), '2', '5000', 'nonce'] },
      { cmd: ['ZRANGE', 'delayed', '0', '-1'] },
    ],
  },
  {
    name: 'lists schedule',
    script: 'redis-lists/scripts/schedule.lua',
    steps: [
      { run: [1, 'delayed', '1000', 'n1-a', '2000', 'n2-b'] },
      { cmd: ['ZRANGE', 'delayed', '0', '-1'] },
    ],
  },
  {
    name: 'lists requeue',
    script: 'redis-lists/scripts/requeue.lua',
    steps: [
      { cmd: ['LPUSH', 'proc', entry(1, 'job'), 'raw'] },
      { run: [2, 'proc', 'queue', entry(1, 'job'), '3'] },
      { run: [2, 'proc', 'queue', 'raw', '3'] },
      { run: [2, 'proc', 'queue', 'missing', '3'] },
      { cmd: ['LRANGE', 'queue', '0', '-1'] },
    ],
  },
  {
    name: 'lists dead-letter',
    script: 'redis-lists/scripts/dead-letter.lua',
    steps: [
      { cmd: ['LPUSH', 'proc', 'e1'] },
      { run: [2, 'proc', 'dlq', 'e1', 'dead-1', '2', ''] },
      { run: [2, 'proc', 'dlq', 'e1', 'dead-2', '2', ''] },
      { run: [2, 'proc', 'dlq', 'e9', 'dead-3', '2', 'unheld'] },
      { run: [2, 'proc', 'dlq', 'e9', 'dead-4', '2', 'unheld'] },
      { cmd: ['LRANGE', 'dlq', '0', '-1'] },
    ],
  },
  {
    name: 'lists leave',
    script: 'redis-lists/scripts/leave.lua',
    steps: [
      { cmd: ['SET', 'hb', 'host'] },
      { cmd: ['ZADD', 'registry', '1', 'c1'] },
      { cmd: ['LPUSH', 'proc', 'e1'] },
      { run: [3, 'hb', 'proc', 'registry', 'c1', '5000', 'host'] },
      { cmd: ['PTTL', 'hb'], map: positive },
      { cmd: ['DEL', 'proc'] },
      { run: [3, 'hb', 'proc', 'registry', 'c1', '5000', 'host'] },
      { cmd: ['EXISTS', 'hb'] },
      { cmd: ['ZCARD', 'registry'] },
    ],
  },
  {
    name: 'mqtt-store put, page and del',
    script: 'mqtt-store/scripts/put.lua',
    steps: [
      { run: [3, 'h', 'o', 'n', 'f1', Buffer.from([0x30, 0x00, 0xff])] },
      { run: [3, 'h', 'o', 'n', 'f2', 'v2'] },
      { run: [3, 'h', 'o', 'n', 'f1', 'v1b'] },
      { cmd: ['ZRANGE', 'o', '0', '-1', 'WITHSCORES'] },
      { cmd: ['HGETALL', 'h'] },
    ],
  },
  {
    name: 'mqtt-store page',
    script: 'mqtt-store/scripts/page.lua',
    steps: [
      { cmd: ['HSET', 'h', 'a', '1', 'b', '2', 'c', '3'] },
      { cmd: ['ZADD', 'o', '1', 'a', '2', 'b', '3', 'c', '4', 'gone'] },
      { cmd: ['SET', 'n', '4'] },
      { run: [3, 'h', 'o', 'n', '0', '', '2'] },
      { run: [3, 'h', 'o', 'n', '2', '4', '2'] },
      { run: [3, 'h', 'o', 'n', '4', '4', '2'] },
    ],
  },
  {
    name: 'mqtt-store del',
    script: 'mqtt-store/scripts/del.lua',
    steps: [
      { cmd: ['HSET', 'h', 'a', '1', 'b', '2'] },
      { cmd: ['ZADD', 'o', '1', 'a', '2', 'b'] },
      { cmd: ['SET', 'n', '2'] },
      { run: [3, 'h', 'o', 'n', 'a'] },
      { run: [3, 'h', 'o', 'n', 'a'] },
      { run: [3, 'h', 'o', 'n', 'b'] },
      { cmd: ['EXISTS', 'h', 'o', 'n'] },
    ],
  },
];

/** Replaces what depends on the clock: `*` stream ids, ms/µs timestamps. */
function normalise(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return normalise(value.toString('latin1'));
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'number' && value >= 1e12) return '<ms>';
  if (typeof value === 'string') {
    if (/^\d{13}-\d+$/.test(value)) return '<id>';
    if (/^\d{13}$/.test(value)) return '<ms>';
    if (/^\d{16}$/.test(value) && value !== '1700000000000000') return '<us>';
  }
  if (value instanceof Error) return `error: ${value.message}`;
  return value;
}

async function transcript(client: Redis, testCase: Case, prefix: string): Promise<unknown[]> {
  const body = scriptBody(testCase.script);
  const keyed = (arg: Arg, isKey: boolean): Arg => (isKey ? `${prefix}${String(arg)}` : arg);
  const out: unknown[] = [];
  for (const step of testCase.steps) {
    let reply: unknown;
    try {
      if (step.run) {
        const [numkeys, ...rest] = step.run;
        const args = rest.map((arg, i) => keyed(arg, i < numkeys));
        reply = await client.callBuffer('EVAL', body, numkeys, ...args);
      } else {
        const [name, ...rest] = step.cmd!;
        // Every argument naming one of the case's keys gets the prefix: the case's key names are
        // the arguments used as keys by its script runs.
        const keys = new Set(
          testCase.steps.flatMap((s) => (s.run ? s.run.slice(1, 1 + s.run[0]).map(String) : [])),
        );
        const args = rest.map((arg) => (typeof arg === 'string' && keys.has(arg) ? `${prefix}${arg}` : arg));
        reply = await client.callBuffer(String(name), ...args);
      }
    } catch (error) {
      reply = error;
    }
    const normalised = normalise(reply);
    out.push(step.map && !(reply instanceof Error) ? step.map(normalise(reply)) : normalised);
  }
  return out;
}

let embedded: EmbeddedRedis;
let real: Awaited<ReturnType<typeof startRedis>>;
let onEmbedded: Redis;
let onReal: Redis;

const suite = realRedisSuite(
  'the transports Lua scripts on the embedded server and on redis-server',
  'the reference transcripts the embedded server is compared with',
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

describe.skipIf(suite.skip)(suite.title, () => {
  CASES.forEach((testCase, index) => {
    it(`${testCase.name} gives the same replies`, async () => {
      const prefix = `t${index}:`;
      const [mine, theirs] = await Promise.all([
        transcript(onEmbedded, testCase, prefix),
        transcript(onReal, testCase, prefix),
      ]);
      expect(mine).toEqual(theirs);
      // The case must exercise the script: at least one run succeeded on redis-server.
      const runs = testCase.steps
        .map((s, i) => (s.run ? theirs[i] : undefined))
        .filter((r) => r !== undefined);
      expect(runs.some((r) => !(typeof r === 'string' && r.startsWith('error:')))).toBe(true);
    });
  });
});
