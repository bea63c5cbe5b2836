import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Acl } from '../src/acl.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';
import type { CommandSpec } from '../src/types.js';

const KEYS_DENIED = 'NOPERM this user has no permissions to access one of the keys used as arguments';
const CHANNELS_DENIED = 'NOPERM this user has no permissions to access one of the channels used as arguments';
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

let redis: EmbeddedRedis;
let admin: Redis;
const opened: Redis[] = [];

beforeAll(async () => {
  redis = await startEmbeddedRedis();
  admin = await connect();
});

afterAll(async () => {
  for (const client of opened) client.disconnect();
  await redis.close();
});

async function connect(
  options: { username?: string; password?: string; enableReadyCheck?: boolean } = {},
): Promise<Redis> {
  const client = new Redis(redis.port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...options,
  });
  opened.push(client);
  await client.connect();
  return client;
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error reply');
}

describe('a user restricted to relaybus:* keys and channels', () => {
  let worker: Redis;

  beforeAll(async () => {
    expect(
      await admin.call(
        'ACL',
        'SETUSER',
        'worker',
        'on',
        '>s3cret',
        '~relaybus:*',
        '&relaybus:*',
        '+@all',
        '-@dangerous',
      ),
    ).toBe('OK');
    await admin.set('other:secret', 'hidden');
    worker = await connect({ username: 'worker', password: 's3cret' });
  });

  it('does its work on its own keys and channels', async () => {
    expect(await worker.call('ACL', 'WHOAMI')).toBe('worker');
    expect(await worker.set('relaybus:a', '1')).toBe('OK');
    expect(await worker.incr('relaybus:n')).toBe(1);
    expect(await worker.get('relaybus:a')).toBe('1');
    expect(await worker.publish('relaybus:events', 'hello')).toBe(0);
    expect(await worker.eval("return redis.call('GET', KEYS[1])", 1, 'relaybus:a')).toBe('1');
  });

  it('cannot read or write other keys, directly or from a script', async () => {
    expect(await errorOf(worker.get('other:secret'))).toBe(KEYS_DENIED);
    expect(await errorOf(worker.set('other:x', '1'))).toBe(KEYS_DENIED);
    expect(await errorOf(worker.eval("return redis.call('GET', 'other:secret')", 0))).toMatch(
      /^ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: /,
    );
  });

  it('cannot subscribe or publish to other channels', async () => {
    const subscriber = await connect({ username: 'worker', password: 's3cret' });
    expect(await errorOf(subscriber.subscribe('other:events'))).toBe(CHANNELS_DENIED);
    expect(await errorOf(worker.publish('other:events', 'x'))).toBe(CHANNELS_DENIED);
    // A pattern is allowed only when it is one of the user's patterns as written.
    expect(await errorOf(subscriber.psubscribe('relaybus:e*'))).toBe(CHANNELS_DENIED);
    expect(await subscriber.subscribe('relaybus:events')).toBe(1);
  });

  it('cannot run the commands it was denied', async () => {
    expect(await errorOf(worker.flushall())).toBe(
      "NOPERM this user has no permissions to run the 'flushall' command",
    );
    expect(await errorOf(worker.call('ACL', 'SETUSER', 'worker', 'allkeys'))).toBe(
      "NOPERM this user has no permissions to run the 'acl|setuser' command",
    );
    expect(await admin.get('other:secret')).toBe('hidden');
  });
});

describe('authentication', () => {
  it('refuses a wrong password and a disabled user with WRONGPASS', async () => {
    await admin.call('ACL', 'SETUSER', 'carol', 'on', '>pw', 'allkeys', '+get');
    expect(await errorOf(admin.call('AUTH', 'carol', 'nope'))).toBe(WRONGPASS);
    await admin.call('ACL', 'SETUSER', 'carol', 'off');
    expect(await errorOf(admin.call('AUTH', 'carol', 'pw'))).toBe(WRONGPASS);
    await admin.call('ACL', 'SETUSER', 'carol', 'on');
    const carol = await connect({ username: 'carol', password: 'pw' });
    expect(await carol.get('anything')).toBeNull();
    expect(await errorOf(carol.set('anything', '1'))).toBe(
      "NOPERM this user has no permissions to run the 'set' command",
    );
  });

  it('sets the default user password with CONFIG SET requirepass', async () => {
    const acl = new Acl();
    expect(acl.defaultAuthenticated()).toBe(true);
    acl.setPassword('pw');
    expect(acl.defaultAuthenticated()).toBe(false);
    expect(acl.authenticate('default', 'pw')).toBe(true);
    expect(acl.authenticate('default', 'other')).toBe(false);
    expect(await admin.config('SET', 'requirepass', 'topsecret')).toBe('OK');
    try {
      // No ready check: iovalkey's INFO would fail with NOAUTH before the test authenticates.
      const anonymous = await connect({ enableReadyCheck: false });
      expect(await errorOf(anonymous.get('x'))).toMatch(/^NOAUTH/);
      expect(await anonymous.call('AUTH', 'topsecret')).toBe('OK');
      expect(await anonymous.get('other:secret')).toBe('hidden');
    } finally {
      await admin.config('SET', 'requirepass', '');
    }
  });
});

describe('ACL subcommands', () => {
  it('lists and describes users as Redis 7.0 does', async () => {
    await admin.call(
      'ACL',
      'SETUSER',
      'dave',
      'on',
      '>pw',
      '~relaybus:*',
      '%R~ro:*',
      '%W~wo:*',
      '&relaybus:*',
      '+@all',
      '-flushall',
    );
    const list = (await admin.call('ACL', 'LIST')) as string[];
    expect(list).toContain(
      'user dave on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~relaybus:* %R~ro:* %W~wo:* resetchannels &relaybus:* +@all -flushall',
    );
    expect(list).toContain('user default on nopass ~* &* +@all');
    expect(await admin.call('ACL', 'GETUSER', 'dave')).toEqual([
      'flags',
      ['on'],
      'passwords',
      ['30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4'],
      'commands',
      '+@all -flushall',
      'keys',
      '~relaybus:* %R~ro:* %W~wo:*',
      'channels',
      '&relaybus:*',
      'selectors',
      [],
    ]);
    expect(await admin.call('ACL', 'GETUSER', 'nobody')).toBeNull();
    expect(await admin.call('ACL', 'SETUSER', 'erin')).toBe('OK');
    expect(list.length + 1).toBe(((await admin.call('ACL', 'LIST')) as string[]).length);
    expect(
      ((await admin.call('ACL', 'LIST')) as string[]).includes('user erin off resetchannels -@all'),
    ).toBe(true);
  });

  it('applies read and write key permissions separately', async () => {
    await admin.call('ACL', 'SETUSER', 'rw', 'on', 'nopass', '%R~ro:*', '%W~wo:*', '+@all');
    expect(await admin.call('ACL', 'DRYRUN', 'rw', 'get', 'ro:1')).toBe('OK');
    expect(await admin.call('ACL', 'DRYRUN', 'rw', 'set', 'ro:1', 'x')).toBe(
      "This user has no permissions to access the 'ro:1' key",
    );
    expect(await admin.call('ACL', 'DRYRUN', 'rw', 'set', 'wo:1', 'x')).toBe('OK');
    expect(await admin.call('ACL', 'DRYRUN', 'rw', 'get', 'wo:1')).toBe(
      "This user has no permissions to access the 'wo:1' key",
    );
    expect(await admin.call('ACL', 'DRYRUN', 'rw', 'incr', 'wo:1')).toBe(
      "This user has no permissions to access the 'wo:1' key",
    );
  });

  it('applies command, category and subcommand rules in order', async () => {
    await admin.call(
      'ACL',
      'SETUSER',
      'ops',
      'on',
      'nopass',
      'allkeys',
      'allchannels',
      '-@all',
      '+@read',
      '+set',
      '+acl|whoami',
    );
    expect(await admin.call('ACL', 'DRYRUN', 'ops', 'get', 'k')).toBe('OK');
    expect(await admin.call('ACL', 'DRYRUN', 'ops', 'set', 'k', 'v')).toBe('OK');
    expect(await admin.call('ACL', 'DRYRUN', 'ops', 'del', 'k')).toBe(
      "This user has no permissions to run the 'del' command",
    );
    expect(await admin.call('ACL', 'DRYRUN', 'ops', 'acl', 'whoami')).toBe('OK');
    expect(await admin.call('ACL', 'DRYRUN', 'ops', 'acl', 'users')).toBe(
      "This user has no permissions to run the 'acl|users' command",
    );
    await admin.call('ACL', 'SETUSER', 'ops', '-@read');
    expect(await admin.call('ACL', 'DRYRUN', 'ops', 'get', 'k')).toBe(
      "This user has no permissions to run the 'get' command",
    );
    expect((await admin.call('ACL', 'GETUSER', 'ops')) as unknown[]).toContain(
      '-@all +set +acl|whoami -@read',
    );
  });

  it('rejects bad rules without changing the user', async () => {
    expect(await errorOf(admin.call('ACL', 'SETUSER', 'frank', 'on', 'badrule'))).toBe(
      "ERR Error in ACL SETUSER modifier 'badrule': Syntax error",
    );
    expect(await admin.call('ACL', 'GETUSER', 'frank')).toBeNull();
    expect(await errorOf(admin.call('ACL', 'SETUSER', 'frank', '+nosuchcommand'))).toBe(
      "ERR Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL",
    );
    expect(await errorOf(admin.call('ACL', 'SETUSER', 'frank', '+@nosuch'))).toBe(
      "ERR Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL",
    );
    expect(await errorOf(admin.call('ACL', 'SETUSER', 'frank', 'allkeys', '~x'))).toBe(
      "ERR Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
    );
    expect(await errorOf(admin.call('ACL', 'SETUSER', 'frank', '#abc'))).toBe(
      "ERR Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
    );
  });

  it('deletes users but never the default one', async () => {
    await admin.call('ACL', 'SETUSER', 'gone1');
    await admin.call('ACL', 'SETUSER', 'gone2');
    expect(await admin.call('ACL', 'DELUSER', 'gone1', 'gone2', 'never-was')).toBe(2);
    expect(await errorOf(admin.call('ACL', 'DELUSER', 'default'))).toBe(
      "ERR The 'default' user cannot be removed",
    );
    expect(((await admin.call('ACL', 'USERS')) as string[]).includes('gone1')).toBe(false);
  });

  it('lists categories and the commands in one', async () => {
    const categories = (await admin.call('ACL', 'CAT')) as string[];
    expect(categories.slice(0, 3)).toEqual(['keyspace', 'read', 'write']);
    expect(categories).toHaveLength(21);
    expect((await admin.call('ACL', 'CAT', 'scripting')) as string[]).toEqual(
      expect.arrayContaining(['eval', 'evalsha', 'script|load']),
    );
    expect(await errorOf(admin.call('ACL', 'CAT', 'nosuch'))).toBe("ERR Unknown category 'nosuch'");
    expect(await errorOf(admin.call('ACL', 'NOSUCH'))).toBe("ERR unknown subcommand 'NOSUCH'. Try ACL HELP.");
    expect(((await admin.call('ACL', 'GENPASS')) as string).length).toBe(64);
  });
});

describe('Acl.check', () => {
  const spec = (name: string, categories: CommandSpec['categories'], flags: string[] = []): CommandSpec => ({
    name,
    arity: -1,
    flags,
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories,
    handler: () => undefined,
  });

  it('lets the default user run everything', () => {
    const acl = new Acl();
    expect(
      acl.check('default', spec('flushall', ['dangerous']), [Buffer.from('flushall')], []),
    ).toBeUndefined();
  });

  it('refuses an unknown user', () => {
    const acl = new Acl();
    expect(acl.check('ghost', spec('get', ['read']), [Buffer.from('get'), Buffer.from('k')], [1])).toBe(
      "NOPERM this user has no permissions to run the 'get' command",
    );
  });
});
