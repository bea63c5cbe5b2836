import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'iovalkey';
import type { RedisCredentials, ResolvedRedisOptions } from './options.js';

/** A client of either topology; both have the same command methods. */
export type RedisClient = Redis | Cluster;

type CredentialProvider = () => Promise<RedisCredentials>;

/** iovalkey internals used to finish a close that happened while credentials were being fetched. */
interface ClientInternals {
  setStatus(status: string): void;
  flushQueue(error: Error): void;
  condition?: { select: number; auth?: unknown; subscriber: boolean };
}

const CLOSED_MESSAGE = 'Connection is closed.';
const MAX_PROVIDER_BACKOFF_MS = 2_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Fetches credentials before each connection attempt, retrying with backoff while the provider
 * fails (each failure is emitted as 'error' on `client`). Resolves false when `stopped()` turns
 * true meanwhile.
 */
async function fetchCredentials(
  client: Redis | Cluster,
  provider: CredentialProvider,
  stopped: () => boolean,
  apply: (credentials: RedisCredentials) => void,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    if (stopped()) return false;
    try {
      const credentials = await provider();
      if (!credentials || typeof credentials.password !== 'string') {
        throw new TypeError('credentials provider must resolve to { username?, password: string }');
      }
      apply(credentials);
      return !stopped();
    } catch (error) {
      const wrapped = new Error(
        `credentials provider failed: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
      if (client.listenerCount('error') > 0) client.emit('error', wrapped);
      await delay(Math.min(attempt * 100, MAX_PROVIDER_BACKOFF_MS));
    }
  }
}

/**
 * A standalone/Sentinel client that asks `provider` for credentials before every connect:
 * iovalkey reads `options.password` synchronously inside `connect()`, and both the first connect
 * and every reconnect go through `connect()`, so refreshing them just before is enough.
 */
class CredentialedRedis extends Redis {
  readonly #provider: CredentialProvider;
  #pending: Promise<void> | undefined;
  #stopped = false;

  constructor(options: RedisOptions, provider: CredentialProvider) {
    // Lazy: the base constructor would call connect() before #provider exists.
    super({ ...options, lazyConnect: true });
    this.#provider = provider;
  }

  override connect(): Promise<void> {
    // iovalkey sets `condition` synchronously in connect() and commands queued while we await the
    // provider read it; give them the one super.connect() will set (minus auth, set there too).
    const internals = this as unknown as ClientInternals;
    internals.condition ??= { select: this.options.db ?? 0, subscriber: false };
    this.#pending ??= this.#connect().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #connect(): Promise<void> {
    const proceed = await fetchCredentials(
      this,
      this.#provider,
      () => this.#stopped,
      (credentials) => {
        this.options.username = credentials.username;
        this.options.password = credentials.password;
      },
    );
    if (!proceed) {
      finishClose(this);
      throw new Error(CLOSED_MESSAGE);
    }
    return super.connect();
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) this.#stopped = true;
    super.disconnect(reconnect);
  }
}

/**
 * A Cluster client that asks `provider` for credentials before every cluster (re)connect and
 * after losing a node: iovalkey creates node connections from the shared `redisOptions` object,
 * so new node connections use the latest credentials.
 */
class CredentialedCluster extends Cluster {
  readonly #provider: CredentialProvider;
  #pending: Promise<void> | undefined;
  #refreshing: Promise<boolean> | undefined;
  #stopped = false;

  constructor(
    nodes: ConstructorParameters<typeof Cluster>[0],
    options: ClusterOptions,
    provider: CredentialProvider,
  ) {
    super(nodes, { ...options, lazyConnect: true });
    this.#provider = provider;
    this.on('-node', () => {
      void this.#refresh();
    });
  }

  #refresh(): Promise<boolean> {
    this.#refreshing ??= fetchCredentials(
      this,
      this.#provider,
      () => this.#stopped,
      (credentials) => {
        const redisOptions = this.options.redisOptions ?? {};
        redisOptions.username = credentials.username;
        redisOptions.password = credentials.password;
        this.options.redisOptions = redisOptions;
      },
    ).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  override connect(): Promise<void> {
    this.#pending ??= this.#connect().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #connect(): Promise<void> {
    if (!(await this.#refresh())) {
      finishClose(this);
      throw new Error(CLOSED_MESSAGE);
    }
    return super.connect();
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) this.#stopped = true;
    super.disconnect(reconnect);
  }
}

/**
 * A close requested while no socket exists (waiting to reconnect, or fetching credentials) leaves
 * iovalkey in that state forever; finish it as iovalkey would: fail queued commands, status 'end'.
 */
export function finishClose(client: Redis | Cluster): void {
  if (client.status === 'end') return;
  const internals = client as unknown as ClientInternals;
  internals.flushQueue(new Error(CLOSED_MESSAGE));
  internals.setStatus('end');
}

function tlsOptions(options: ResolvedRedisOptions): RedisOptions['tls'] {
  return options.tls === undefined ? undefined : { ...options.tls };
}

/** iovalkey options for one standalone/Sentinel connection (also Cluster's per-node options). */
export function redisOptionsFor(options: ResolvedRedisOptions, connectionName: string): RedisOptions {
  const base: RedisOptions = {
    connectionName,
    connectTimeout: options.connectTimeoutMs,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    lazyConnect: true,
  };
  if (options.username !== undefined) base.username = options.username;
  if (options.password !== undefined) base.password = options.password;
  const tls = tlsOptions(options);
  if (tls) base.tls = tls;
  if (options.mode === 'standalone') {
    base.host = options.host;
    base.port = options.port;
    base.db = options.db;
  } else if (options.mode === 'sentinel' && options.sentinel) {
    base.sentinels = options.sentinel.sentinels.map((node) => ({ ...node }));
    base.name = options.sentinel.name;
    base.db = options.db;
    if (options.sentinel.password !== undefined) base.sentinelPassword = options.sentinel.password;
    if (tls) {
      base.enableTLSForSentinelMode = true;
      base.sentinelTLS = tls;
    }
  }
  return base;
}

/**
 * Creates (but does not connect) the iovalkey client for `options`, named `connectionName`.
 * Call `connect()` on it; with a credentials provider, each connect fetches fresh credentials.
 */
export function createClient(options: ResolvedRedisOptions, connectionName: string): RedisClient {
  const redisOptions = redisOptionsFor(options, connectionName);
  if (options.mode === 'cluster') {
    const nodeOptions: RedisOptions = { ...redisOptions };
    delete nodeOptions.lazyConnect;
    const clusterOptions: ClusterOptions = {
      redisOptions: nodeOptions,
      lazyConnect: true,
      enableOfflineQueue: true,
    };
    const nodes = options.clusterNodes.map((node) => ({ ...node }));
    return options.credentials
      ? new CredentialedCluster(nodes, clusterOptions, options.credentials)
      : new Cluster(nodes, clusterOptions);
  }
  return options.credentials
    ? new CredentialedRedis(redisOptions, options.credentials)
    : new Redis(redisOptions);
}
