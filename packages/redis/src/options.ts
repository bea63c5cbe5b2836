import { ConfigError, checkInteger, checkName, describeValue, rejectUnknownOptions } from '@relaybus/core';
import { checkKeyPrefix } from './keys.js';

/** A host and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** TLS settings, passed to Node's `tls.connect` through iovalkey. */
export interface RedisTlsOptions {
  /** CA certificate(s) (PEM) to trust instead of the system store. */
  ca?: string | Buffer;
  /** Client certificate (PEM), for mutual TLS. */
  cert?: string | Buffer;
  /** Client private key (PEM), for mutual TLS. */
  key?: string | Buffer;
  /** Server name for SNI and certificate checks (default: the host). */
  servername?: string;
  /** Reject servers whose certificate does not verify. Default true; false only for tests. */
  rejectUnauthorized?: boolean;
}

/** Credentials returned by a `credentials` provider. */
export interface RedisCredentials {
  username?: string;
  password: string;
}

/** How to reach Redis/Valkey: standalone (`url`), Cluster (`cluster`) or Sentinel (`sentinel`). */
export interface RedisConnectionOptions {
  /**
   * `redis://[user[:password]@]host[:port][/db]`, or `rediss://…` for TLS.
   * Default `redis://127.0.0.1:6379`. Not combinable with `cluster` or `sentinel`.
   */
  url?: string;
  /**
   * Cluster seed nodes (`"host:port"`, `"redis://[user:pass@]host:port"`, `"rediss://…"` or
   * `{ host, port }`); credentials in node URLs apply to every node (they must agree).
   */
  cluster?: { nodes: Array<string | HostPort> };
  /** Sentinels and the monitored master `name`; `password` authenticates to the sentinels. */
  sentinel?: { sentinels: HostPort[]; name: string; password?: string };
  /** TLS; giving it turns TLS on (as does a `rediss://` URL). */
  tls?: RedisTlsOptions;
  /** ACL user (Redis 6+). Overrides the URL's user. */
  username?: string;
  /** Password (of `username`, or of `default`). Overrides the URL's password. */
  password?: string;
  /**
   * Called before every connection attempt (first connect and each reconnect) for fresh
   * credentials, e.g. a rotating token. Not combinable with `username`/`password`.
   */
  credentials?: () => Promise<RedisCredentials>;
  /** Prefix of every key (default `relaybus:`); may be empty; no braces or whitespace. */
  keyPrefix?: string;
  /** Base of each connection's CLIENT SETNAME, `${connectionName}:${role}` (default `relaybus`). */
  connectionName?: string;
  /** How long one TCP/TLS connect may take, in ms (default 10 000). */
  connectTimeoutMs?: number;
  /**
   * How many reconnect attempts a queued command waits before it fails (default 20, iovalkey's
   * default); `null` waits forever.
   */
  maxRetriesPerRequest?: number | null;
}

/** Defaults of `RedisConnectionOptions`. */
export const DEFAULT_REDIS_OPTIONS = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  keyPrefix: 'relaybus:',
  connectionName: 'relaybus',
  connectTimeoutMs: 10_000,
  maxRetriesPerRequest: 20 as number | null,
});

/** The validated, normalised form of `RedisConnectionOptions`, produced by `resolveRedisOptions`. */
export interface ResolvedRedisOptions {
  /** Which topology to connect to. */
  readonly mode: 'standalone' | 'cluster' | 'sentinel';
  /** Standalone server (mode `standalone`); for other modes the default `127.0.0.1:6379`. */
  readonly host: string;
  readonly port: number;
  /** Database index (standalone and Sentinel; always 0 in Cluster). */
  readonly db: number;
  /** Cluster seed nodes (mode `cluster`), else empty. */
  readonly clusterNodes: ReadonlyArray<HostPort>;
  /** Sentinel settings (mode `sentinel`). */
  readonly sentinel:
    | { readonly sentinels: ReadonlyArray<HostPort>; readonly name: string; readonly password?: string }
    | undefined;
  /** TLS settings, or undefined for plain TCP. */
  readonly tls: Readonly<RedisTlsOptions> | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly credentials: (() => Promise<RedisCredentials>) | undefined;
  readonly keyPrefix: string;
  readonly connectionName: string;
  readonly connectTimeoutMs: number;
  readonly maxRetriesPerRequest: number | null;
  /** Where it connects, without secrets, for logs and errors (e.g. `redis://127.0.0.1:6379/0`). */
  readonly target: string;
}

const KNOWN = [
  'url',
  'cluster',
  'sentinel',
  'tls',
  'username',
  'password',
  'credentials',
  'keyPrefix',
  'connectionName',
  'connectTimeoutMs',
  'maxRetriesPerRequest',
] as const;
const TLS_KNOWN = ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function checkObject(option: string, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw new ConfigError(option, `must be an object, got ${describeValue(value)}`);
  return value;
}

function checkString(option: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new ConfigError(option, `must be a string, got ${describeValue(value)}`);
  return value;
}

function checkHost(option: string, value: unknown): string {
  const host = checkName(option, value, 255);
  if (/\s/.test(host)) throw new ConfigError(option, `must be a host name or IP, got ${describeValue(host)}`);
  return host;
}

function checkHostPort(option: string, value: unknown): HostPort {
  const object = checkObject(option, value);
  rejectUnknownOptions(option, object, ['host', 'port']);
  return {
    host: checkHost(`${option}.host`, object.host),
    port: checkInteger(`${option}.port`, object.port, 1, 65_535),
  };
}

interface ParsedUrl {
  host: string;
  port: number;
  db: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
}

/** Parses a `redis://` / `rediss://` URL; throws ConfigError naming `option`. */
function parseRedisUrl(option: string, value: unknown, allowDb: boolean): ParsedUrl {
  const text = checkString(option, value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(
      option,
      `must be a URL like redis://host:6379, got ${describeValue(redactUrl(text))}`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(
      option,
      `scheme must be "redis:" or "rediss:" (TLS), got ${describeValue(url.protocol)}`,
    );
  }
  if (!url.hostname) throw new ConfigError(option, 'must name a host');
  if (url.search || url.hash) {
    throw new ConfigError(
      option,
      'must not have a query string or fragment; use the connection options instead',
    );
  }
  const port = url.port ? Number(url.port) : 6379;
  let db = 0;
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') {
    if (!allowDb) throw new ConfigError(option, 'must not select a database (Cluster has only db 0)');
    if (!/^\d+$/.test(path))
      throw new ConfigError(option, `database must be a number, got ${describeValue(path)}`);
    db = Number(path);
  }
  // IPv6 literals come back bracketed from URL; net.connect wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port,
    db,
    tls: url.protocol === 'rediss:',
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

/** Removes credentials from a URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function checkPem(option: string, value: unknown): string | Buffer {
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
  throw new ConfigError(option, `must be a string or Buffer (PEM), got ${describeValue(value)}`);
}

function resolveTls(option: string, value: unknown): RedisTlsOptions {
  const tls = checkObject(option, value);
  rejectUnknownOptions(option, tls, TLS_KNOWN);
  const out: RedisTlsOptions = {};
  if (tls.ca !== undefined) out.ca = checkPem(`${option}.ca`, tls.ca);
  if (tls.cert !== undefined) out.cert = checkPem(`${option}.cert`, tls.cert);
  if (tls.key !== undefined) out.key = checkPem(`${option}.key`, tls.key);
  if ((out.cert === undefined) !== (out.key === undefined)) {
    throw new ConfigError(
      out.cert === undefined ? `${option}.cert` : `${option}.key`,
      'cert and key must be given together',
    );
  }
  if (tls.servername !== undefined) out.servername = checkHost(`${option}.servername`, tls.servername);
  if (tls.rejectUnauthorized !== undefined) {
    if (typeof tls.rejectUnauthorized !== 'boolean') {
      throw new ConfigError(
        `${option}.rejectUnauthorized`,
        `must be a boolean, got ${describeValue(tls.rejectUnauthorized)}`,
      );
    }
    out.rejectUnauthorized = tls.rejectUnauthorized;
  }
  return Object.freeze(out);
}

interface ClusterSeeds {
  nodes: HostPort[];
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
}

function resolveClusterNodes(option: string, value: unknown): ClusterSeeds {
  const cluster = checkObject(option, value);
  rejectUnknownOptions(option, cluster, ['nodes']);
  const nodes = cluster.nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new ConfigError(
      `${option}.nodes`,
      `must be a non-empty array of "host:port" or { host, port }, got ${describeValue(nodes)}`,
    );
  }
  let tls = false;
  let credentials: { from: string; username: string | undefined; password: string | undefined } | undefined;
  const resolved = nodes.map((node: unknown, index): HostPort => {
    const name = `${option}.nodes[${index}]`;
    if (typeof node === 'string') {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(node)) {
        const parsed = parseRedisUrl(name, node, false);
        tls ||= parsed.tls;
        if (parsed.username !== undefined || parsed.password !== undefined) {
          if (
            credentials &&
            (credentials.username !== parsed.username || credentials.password !== parsed.password)
          ) {
            throw new ConfigError(
              name,
              `has other credentials than ${credentials.from}; all nodes share one user`,
            );
          }
          credentials ??= { from: name, username: parsed.username, password: parsed.password };
        }
        return { host: parsed.host, port: parsed.port };
      }
      const match = /^(.+):(\d+)$/.exec(node);
      if (!match)
        throw new ConfigError(name, `must be "host:port" or a redis:// URL, got ${describeValue(node)}`);
      return {
        host: checkHost(name, match[1]!.replace(/^\[(.*)\]$/, '$1')),
        port: checkInteger(name, Number(match[2]), 1, 65_535),
      };
    }
    return checkHostPort(name, node);
  });
  return { nodes: resolved, tls, username: credentials?.username, password: credentials?.password };
}

/**
 * Validates `options` once and returns a frozen, normalised copy with every default applied.
 * Throws `ConfigError` naming the offending option (prefixed by `scope`, default `redis`) and what
 * it accepts: unknown keys, a scheme other than redis:/rediss:, `url` together with `cluster` or
 * `sentinel`, `credentials` together with `username`/`password`, bad ports, empty node lists, …
 */
export function resolveRedisOptions(
  options: RedisConnectionOptions | undefined,
  scope = 'redis',
): ResolvedRedisOptions {
  const input = options === undefined ? {} : checkObject(scope, options);
  rejectUnknownOptions(scope, input, KNOWN);
  const name = (key: string): string => `${scope}.${key}`;

  const has = (key: string): boolean => input[key] !== undefined;
  if (has('url') && has('cluster'))
    throw new ConfigError(name('cluster'), 'cannot be combined with "url"; give the nodes in cluster.nodes');
  if (has('url') && has('sentinel')) throw new ConfigError(name('sentinel'), 'cannot be combined with "url"');
  if (has('cluster') && has('sentinel'))
    throw new ConfigError(name('sentinel'), 'cannot be combined with "cluster"');
  if (has('credentials') && (has('username') || has('password'))) {
    throw new ConfigError(
      name('credentials'),
      'cannot be combined with "username"/"password"; return them from the provider',
    );
  }

  let mode: ResolvedRedisOptions['mode'] = 'standalone';
  let host = '127.0.0.1';
  let port = 6379;
  let db = 0;
  let tlsFromUrl = false;
  let username: string | undefined;
  let password: string | undefined;
  let clusterNodes: HostPort[] = [];
  let sentinel: ResolvedRedisOptions['sentinel'];
  let target: string;

  if (has('cluster')) {
    mode = 'cluster';
    const resolved = resolveClusterNodes(name('cluster'), input.cluster);
    clusterNodes = resolved.nodes;
    tlsFromUrl = resolved.tls;
    username = resolved.username;
    password = resolved.password;
    if (has('credentials') && (username !== undefined || password !== undefined)) {
      throw new ConfigError(
        name('cluster.nodes'),
        'must not carry a user or password when "credentials" is given',
      );
    }
    target = `cluster(${clusterNodes.map((node) => `${node.host}:${node.port}`).join(',')})`;
  } else if (has('sentinel')) {
    mode = 'sentinel';
    const option = name('sentinel');
    const object = checkObject(option, input.sentinel);
    rejectUnknownOptions(option, object, ['sentinels', 'name', 'password']);
    if (!Array.isArray(object.sentinels) || object.sentinels.length === 0) {
      throw new ConfigError(
        `${option}.sentinels`,
        `must be a non-empty array of { host, port }, got ${describeValue(object.sentinels)}`,
      );
    }
    const sentinels = object.sentinels.map((node: unknown, index) =>
      checkHostPort(`${option}.sentinels[${index}]`, node),
    );
    const masterName = checkName(`${option}.name`, object.name);
    const sentinelPassword =
      object.password === undefined ? undefined : checkString(`${option}.password`, object.password);
    sentinel = Object.freeze({
      sentinels: Object.freeze(sentinels),
      name: masterName,
      ...(sentinelPassword === undefined ? {} : { password: sentinelPassword }),
    });
    target = `sentinel(${masterName}@${sentinels.map((node) => `${node.host}:${node.port}`).join(',')})`;
  } else {
    const parsed = parseRedisUrl(name('url'), input.url ?? DEFAULT_REDIS_OPTIONS.url, true);
    ({ host, port, db, username, password } = parsed);
    if (has('credentials') && (username !== undefined || password !== undefined)) {
      throw new ConfigError(name('url'), 'must not carry a user or password when "credentials" is given');
    }
    tlsFromUrl = parsed.tls;
    target = `${parsed.tls ? 'rediss' : 'redis'}://${host.includes(':') ? `[${host}]` : host}:${port}/${db}`;
  }

  if (has('username')) username = checkName(name('username'), input.username);
  if (has('password')) password = checkString(name('password'), input.password);
  if (has('credentials') && typeof input.credentials !== 'function') {
    throw new ConfigError(
      name('credentials'),
      `must be a function returning Promise<{ username?, password }>, got ${describeValue(input.credentials)}`,
    );
  }
  let tls: RedisTlsOptions | undefined;
  if (has('tls')) tls = resolveTls(name('tls'), input.tls);
  else if (tlsFromUrl) tls = Object.freeze({});

  const connectionName = has('connectionName')
    ? checkName(name('connectionName'), input.connectionName, 64)
    : DEFAULT_REDIS_OPTIONS.connectionName;
  if (/\s/.test(connectionName)) {
    throw new ConfigError(
      name('connectionName'),
      `must not contain whitespace (CLIENT SETNAME), got ${describeValue(connectionName)}`,
    );
  }
  let maxRetriesPerRequest = DEFAULT_REDIS_OPTIONS.maxRetriesPerRequest;
  if (input.maxRetriesPerRequest !== undefined) {
    maxRetriesPerRequest =
      input.maxRetriesPerRequest === null
        ? null
        : checkInteger(name('maxRetriesPerRequest'), input.maxRetriesPerRequest, 0, 1_000_000);
  }

  return Object.freeze({
    mode,
    host,
    port,
    db,
    clusterNodes: Object.freeze(clusterNodes),
    sentinel,
    tls,
    username,
    password,
    credentials: input.credentials as (() => Promise<RedisCredentials>) | undefined,
    keyPrefix: has('keyPrefix')
      ? checkKeyPrefix(input.keyPrefix, name('keyPrefix'))
      : DEFAULT_REDIS_OPTIONS.keyPrefix,
    connectionName,
    connectTimeoutMs: has('connectTimeoutMs')
      ? checkInteger(name('connectTimeoutMs'), input.connectTimeoutMs, 1, 600_000)
      : DEFAULT_REDIS_OPTIONS.connectTimeoutMs,
    maxRetriesPerRequest,
    target,
  });
}
