import { ConfigError } from '@relaybus/core';
import { DEFAULT_REDIS_OPTIONS, type RedisConnectionOptions, resolveRedisOptions } from '@relaybus/redis';
import { describe, expect, it } from 'vitest';

function rejection(options: unknown, scope?: string): ConfigError {
  try {
    resolveRedisOptions(options as RedisConnectionOptions, scope);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveRedisOptions defaults', () => {
  it('connects to redis://127.0.0.1:6379 with the default prefix and name', () => {
    const resolved = resolveRedisOptions(undefined);
    expect(resolved).toMatchObject({
      mode: 'standalone',
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      tls: undefined,
      keyPrefix: DEFAULT_REDIS_OPTIONS.keyPrefix,
      connectionName: 'relaybus',
      connectTimeoutMs: 10_000,
      maxRetriesPerRequest: 20,
      target: 'redis://127.0.0.1:6379/0',
    });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('parses user, password, port and db from the url, keeping secrets out of target', () => {
    const resolved = resolveRedisOptions({ url: 'redis://app:p%40ss@cache.local:6380/3' });
    expect(resolved).toMatchObject({
      host: 'cache.local',
      port: 6380,
      db: 3,
      username: 'app',
      password: 'p@ss',
    });
    expect(resolved.target).toBe('redis://cache.local:6380/3');
  });

  it('turns TLS on for rediss:// and for a tls option', () => {
    expect(resolveRedisOptions({ url: 'rediss://h:6379' }).tls).toEqual({});
    expect(resolveRedisOptions({ tls: { servername: 'h', rejectUnauthorized: false } }).tls).toEqual({
      servername: 'h',
      rejectUnauthorized: false,
    });
  });

  it('lets explicit username and password override the url', () => {
    const resolved = resolveRedisOptions({ url: 'redis://u:p@h', username: 'other', password: 'pw' });
    expect(resolved).toMatchObject({ username: 'other', password: 'pw' });
  });

  it('accepts cluster nodes as host:port, urls and objects', () => {
    const resolved = resolveRedisOptions({
      cluster: {
        nodes: ['10.0.0.1:7000', 'redis://10.0.0.2:7001', { host: '10.0.0.3', port: 7002 }, '[::1]:7003'],
      },
    });
    expect(resolved.mode).toBe('cluster');
    expect(resolved.clusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '10.0.0.3', port: 7002 },
      { host: '::1', port: 7003 },
    ]);
    expect(resolveRedisOptions({ cluster: { nodes: ['rediss://h:7000'] } }).tls).toEqual({});
  });

  it('takes cluster credentials from node urls', () => {
    const resolved = resolveRedisOptions({
      cluster: { nodes: ['redis://u:p@h:1', 'h:2', 'redis://u:p@h:3'] },
    });
    expect(resolved).toMatchObject({ username: 'u', password: 'p' });
  });

  it('accepts sentinel settings', () => {
    const resolved = resolveRedisOptions({
      sentinel: { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', password: 'sp' },
    });
    expect(resolved.mode).toBe('sentinel');
    expect(resolved.sentinel).toEqual({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      password: 'sp',
    });
  });

  it('accepts an empty key prefix, null maxRetriesPerRequest and a credentials provider', () => {
    const credentials = async () => ({ password: 'x' });
    const resolved = resolveRedisOptions({ keyPrefix: '', maxRetriesPerRequest: null, credentials });
    expect(resolved.keyPrefix).toBe('');
    expect(resolved.maxRetriesPerRequest).toBeNull();
    expect(resolved.credentials).toBe(credentials);
  });
});

describe('resolveRedisOptions rejects each wrong option, naming it', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['an unknown key', { urll: 'redis://h' }, 'redis.urll', /unknown option; known options are url, cluster/],
    ['a non-redis scheme', { url: 'http://h:6379' }, 'redis.url', /scheme must be "redis:" or "rediss:"/],
    ['an unparsable url', { url: 'not a url' }, 'redis.url', /must be a URL/],
    ['a url that is not a string', { url: 6379 }, 'redis.url', /must be a string/],
    ['a url with a query', { url: 'redis://h?db=1' }, 'redis.url', /query string/],
    ['a url with a non-numeric db', { url: 'redis://h/abc' }, 'redis.url', /database must be a number/],
    [
      'url with cluster',
      { url: 'redis://h', cluster: { nodes: ['h:1'] } },
      'redis.cluster',
      /cannot be combined with "url"/,
    ],
    [
      'url with sentinel',
      { url: 'redis://h', sentinel: { sentinels: [], name: 'm' } },
      'redis.sentinel',
      /cannot be combined/,
    ],
    [
      'cluster with sentinel',
      { cluster: { nodes: ['h:1'] }, sentinel: { sentinels: [], name: 'm' } },
      'redis.sentinel',
      /cannot be combined with "cluster"/,
    ],
    ['an empty node list', { cluster: { nodes: [] } }, 'redis.cluster.nodes', /non-empty array/],
    ['a node without port', { cluster: { nodes: ['hostonly'] } }, 'redis.cluster.nodes[0]', /"host:port"/],
    [
      'a node port out of range',
      { cluster: { nodes: [{ host: 'h', port: 70000 }] } },
      'redis.cluster.nodes[0].port',
      /between 1 and 65535/,
    ],
    [
      'a node with a db',
      { cluster: { nodes: ['redis://h:1/2'] } },
      'redis.cluster.nodes[0]',
      /must not select a database/,
    ],
    [
      'an unknown cluster key',
      { cluster: { nodes: ['h:1'], scaleReads: 'all' } },
      'redis.cluster.scaleReads',
      /unknown option/,
    ],
    [
      'sentinel without sentinels',
      { sentinel: { sentinels: [], name: 'm' } },
      'redis.sentinel.sentinels',
      /non-empty array/,
    ],
    [
      'sentinel without a name',
      { sentinel: { sentinels: [{ host: 'h', port: 1 }] } },
      'redis.sentinel.name',
      /non-empty string/,
    ],
    ['an unknown tls key', { tls: { certificate: 'x' } }, 'redis.tls.certificate', /unknown option/],
    ['a tls cert without key', { tls: { cert: 'x' } }, 'redis.tls.key', /together/],
    [
      'a non-boolean rejectUnauthorized',
      { tls: { rejectUnauthorized: 'no' } },
      'redis.tls.rejectUnauthorized',
      /boolean/,
    ],
    ['a tls ca that is not PEM text', { tls: { ca: 42 } }, 'redis.tls.ca', /string or Buffer/],
    ['an empty username', { username: '' }, 'redis.username', /non-empty string/],
    ['a non-string password', { password: 123 }, 'redis.password', /must be a string/],
    [
      'credentials with a password',
      { credentials: async () => ({ password: 'x' }), password: 'y' },
      'redis.credentials',
      /cannot be combined/,
    ],
    [
      'credentials that are not a function',
      { credentials: { password: 'x' } },
      'redis.credentials',
      /must be a function/,
    ],
    ['a key prefix with braces', { keyPrefix: 'app{x}:' }, 'redis.keyPrefix', /"\{" or "\}"/],
    ['a key prefix with spaces', { keyPrefix: 'my app:' }, 'redis.keyPrefix', /whitespace/],
    ['a connection name with spaces', { connectionName: 'my app' }, 'redis.connectionName', /whitespace/],
    [
      'a zero connect timeout',
      { connectTimeoutMs: 0 },
      'redis.connectTimeoutMs',
      /integer between 1 and 600000/,
    ],
    [
      'a negative maxRetriesPerRequest',
      { maxRetriesPerRequest: -1 },
      'redis.maxRetriesPerRequest',
      /integer between 0/,
    ],
  ];

  for (const [what, options, option, message] of cases) {
    it(`rejects ${what} (${option})`, () => {
      const error = rejection(options);
      expect(error.option).toBe(option);
      expect(error.code).toBe('RELAYBUS_INVALID_OPTION');
      expect(error.message).toContain(`"${option}"`);
      expect(error.message).toMatch(message);
    });
  }

  it('uses the given scope in option names', () => {
    expect(rejection({ url: 'ftp://h' }, 'streams.connection').option).toBe('streams.connection.url');
  });

  it('never echoes a password from a bad url', () => {
    expect(rejection({ url: 'http://user:hunter2@h' }).message).not.toContain('hunter2');
    expect(rejection({ url: 'redis://user:hunter2@h/x' }).message).not.toContain('hunter2');
  });

  it('rejects options that are not an object', () => {
    expect(rejection('redis://h').option).toBe('redis');
  });
});
