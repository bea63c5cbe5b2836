/**
 * ACL command sequences, and what a restricted user may then do, sent to the embedded server and
 * to a real redis-server: replies (errors included) must be equal.
 */
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realRedisSuite, startRedis } from '../../testing/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

/** `admin` or `user` (a second connection that AUTHs as the user under test), and the command. */
type Step = ['admin' | 'user', ...string[]];

const STEPS: Step[] = [
  ['admin', 'ACL', 'SETUSER', 'relay', 'on', '>pw', '~relaybus:*', '&relaybus:*', '+@all', '-@dangerous'],
  ['admin', 'ACL', 'LIST'],
  ['admin', 'ACL', 'GETUSER', 'relay'],
  ['admin', 'ACL', 'USERS'],
  ['admin', 'ACL', 'WHOAMI'],
  ['user', 'AUTH', 'relay', 'wrong'],
  ['user', 'AUTH', 'nobody', 'pw'],
  ['user', 'AUTH', 'relay', 'pw'],
  ['user', 'ACL', 'WHOAMI'],
  ['user', 'SET', 'relaybus:a', '1'],
  ['user', 'GET', 'relaybus:a'],
  ['user', 'GET', 'other:a'],
  ['user', 'MGET', 'relaybus:a', 'other:a'],
  ['user', 'DEL', 'other:a'],
  ['user', 'PUBLISH', 'relaybus:c', 'm'],
  ['user', 'PUBLISH', 'other:c', 'm'],
  ['user', 'SPUBLISH', 'other:c', 'm'],
  ['user', 'FLUSHALL'],
  ['user', 'KEYS', '*'],
  ['user', 'ACL', 'LIST'],
  ['user', 'EVAL', "return redis.call('GET', 'relaybus:a')", '0'],
  ['user', 'EVAL', "return redis.call('GET', 'other:a')", '0'],
  ['user', 'EVAL', "return redis.pcall('GET', 'other:a')", '0'],
  ['user', 'EVAL', "return redis.call('PUBLISH', 'other:c', 'm')", '0'],
  [
    'user',
    'EVAL',
    "return {redis.acl_check_cmd('GET', 'relaybus:a'), redis.acl_check_cmd('GET', 'other:a')}",
    '0',
  ],
  ['user', 'EVAL', "return redis.acl_check_cmd('FLUSHALL')", '0'],
  ['user', 'EVAL', "return redis.acl_check_cmd('NOSUCH')", '0'],
  // Redis rebuilds the command rules it prints from a bitmap; with one rule the text is the same.
  ['admin', 'ACL', 'SETUSER', 'relay', '-@all', '+get', '%R~ro:*', '%W~wo:*'],
  ['admin', 'ACL', 'GETUSER', 'relay'],
  ['user', 'GET', 'ro:1'],
  ['user', 'GET', 'wo:1'],
  ['user', 'SET', 'relaybus:a', '2'],
  ['user', 'ACL', 'WHOAMI'],
  ['admin', 'ACL', 'SETUSER', 'relay', '+acl|whoami'],
  ['user', 'ACL', 'WHOAMI'],
  ['user', 'ACL', 'USERS'],
  ['admin', 'ACL', 'DRYRUN', 'relay', 'get', 'relaybus:a'],
  ['admin', 'ACL', 'DRYRUN', 'relay', 'get', 'other'],
  ['admin', 'ACL', 'DRYRUN', 'relay', 'set', 'relaybus:a', 'x'],
  ['admin', 'ACL', 'DRYRUN', 'ghost', 'get', 'x'],
  ['admin', 'ACL', 'SETUSER', 'relay', 'off'],
  ['admin', 'AUTH', 'relay', 'pw'],
  ['admin', 'ACL', 'SETUSER', 'relay', 'on', 'resetpass', 'nopass'],
  ['admin', 'ACL', 'SETUSER', 'relay', 'resetkeys', 'allkeys', 'resetchannels', 'allchannels', 'nocommands'],
  ['admin', 'ACL', 'GETUSER', 'relay'],
  ['admin', 'ACL', 'SETUSER', 'relay', '~x'],
  ['admin', 'ACL', 'SETUSER', 'relay', '&x'],
  ['admin', 'ACL', 'SETUSER', 'relay', 'bogus'],
  ['admin', 'ACL', 'SETUSER', 'relay', '+nosuchcmd'],
  ['admin', 'ACL', 'SETUSER', 'relay', '-@nosuch'],
  ['admin', 'ACL', 'SETUSER', 'relay', '#tooshort'],
  ['admin', 'ACL', 'SETUSER', 'relay', '<notapassword'],
  ['admin', 'ACL', 'SETUSER', 'fresh'],
  ['admin', 'ACL', 'GETUSER', 'fresh'],
  ['admin', 'ACL', 'GETUSER', 'ghost'],
  ['admin', 'ACL', 'DELUSER', 'fresh', 'ghost'],
  ['admin', 'ACL', 'DELUSER', 'default'],
  ['admin', 'ACL', 'CAT'],
  ['admin', 'ACL', 'CAT', 'nosuch'],
  ['admin', 'ACL', 'NOSUCH'],
  ['admin', 'ACL', 'LOG', 'RESET'],
  ['admin', 'ACL', 'SAVE'],
  ['admin', 'ACL', 'GENPASS', '0'],
  ['admin', 'ACL', 'HELP'],
  ['admin', 'ACL', 'SETUSER', 'relay', 'reset'],
  ['admin', 'ACL', 'LIST'],
];

interface Side {
  admin: Redis;
  user: Redis;
}

let embedded: EmbeddedRedis;
let real: Awaited<ReturnType<typeof startRedis>>;
let sides: [Side, Side];

const suite = realRedisSuite(
  'ACL on the embedded server and on redis-server',
  'the reference replies the embedded server is compared with',
);

beforeAll(async () => {
  if (suite.skip) return;
  [embedded, real] = await Promise.all([startEmbeddedRedis(), startRedis({ server: 'real' })]);
  const open = (make: () => Redis): Side => ({ admin: make(), user: make() });
  const options = { maxRetriesPerRequest: 0 } as const;
  sides = [
    open(() => new Redis(embedded.port, '127.0.0.1', options)),
    open(() => new Redis(real.url, options)),
  ];
});

afterAll(async () => {
  for (const side of sides ?? []) {
    side.admin.disconnect();
    side.user.disconnect();
  }
  await Promise.all([embedded?.close(), real?.stop()]);
});

async function reply(side: Side, step: Step): Promise<unknown> {
  const [who, name, ...args] = step;
  try {
    const value = await side[who].call(name!, ...args);
    return value;
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

describe.skipIf(suite.skip)(suite.title, () => {
  it('gives the same replies, errors included', async () => {
    const mismatches: string[] = [];
    for (const step of STEPS) {
      const [mine, theirs] = await Promise.all([reply(sides[0], step), reply(sides[1], step)]);
      try {
        expect(mine).toEqual(theirs);
      } catch {
        mismatches.push(
          `${step.join(' ')}\n  embedded: ${JSON.stringify(mine)}\n  redis:    ${JSON.stringify(theirs)}`,
        );
      }
    }
    expect(mismatches.join('\n')).toBe('');
  });
});
