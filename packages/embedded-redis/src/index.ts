import { Acl } from './acl.js';
import { type AofFsync, type AofOptions, attachAof } from './aof.js';
import { type Clock, ManualClock, realClock } from './clock.js';
import { DEFAULT_PUBSUB_OUTPUT_LIMIT, EmbeddedServer } from './server.js';

export { startEmbeddedRedisCluster } from './cluster.js';
export type { AofFsync, AofOptions, Clock };
export { EmbeddedServer, ManualClock, realClock };

/** Options of `startEmbeddedRedis`. */
export interface EmbeddedRedisOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default `127.0.0.1` (loopback only). */
  host?: string;
  /** `requirepass`: clients must AUTH with it. */
  password?: string;
  /** Time source for TTLs, stream ids and timeouts; default the wall clock. */
  clock?: Clock;
  /** Persistence: an append-only file in `dir`, replayed on start and on `restart()`. */
  aof?: AofOptions;
}

/** A running embedded server. */
export interface EmbeddedRedis {
  /** `redis://host:port` (with the password when one is set). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The server object of the current run (replaced by `restart()`). */
  readonly server: EmbeddedServer;
  /** Stops the server and closes every connection. */
  close(): Promise<void>;
  /**
   * Stops and starts again on the same port: clients are disconnected; with `aof` the data is
   * replayed from the file, without it the new run starts empty (as a restarted Redis would).
   */
  restart(): Promise<void>;
}

/** Default options of `startEmbeddedRedis`. */
export const DEFAULT_EMBEDDED_REDIS_OPTIONS = { port: 0, host: '127.0.0.1' } as const;

function validate(options: EmbeddedRedisOptions): void {
  const { port, host, password } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(
      `startEmbeddedRedis: option "port" must be an integer 0..65535, got ${String(port)}`,
    );
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new TypeError('startEmbeddedRedis: option "host" must be a non-empty string');
  }
  if (password !== undefined && (typeof password !== 'string' || password === '')) {
    throw new TypeError('startEmbeddedRedis: option "password" must be a non-empty string');
  }
  const aof = options.aof;
  if (aof !== undefined) {
    if (typeof aof.dir !== 'string' || aof.dir === '') {
      throw new TypeError('startEmbeddedRedis: option "aof.dir" must be a non-empty string');
    }
    if (!['always', 'everysec', 'no'].includes(aof.fsync)) {
      throw new RangeError(
        `startEmbeddedRedis: option "aof.fsync" must be one of always, everysec, no; got ${String(aof.fsync)}`,
      );
    }
  }
}

/**
 * Starts a Redis-compatible server in this process, listening on `host:port` (loopback and a
 * free port by default). Resolves once it accepts connections.
 */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  validate(options);
  const host = options.host ?? DEFAULT_EMBEDDED_REDIS_OPTIONS.host;
  const clock = options.clock ?? realClock;
  let port = options.port ?? DEFAULT_EMBEDDED_REDIS_OPTIONS.port;
  let closed = false;

  const create = async (): Promise<EmbeddedServer> => {
    const server = new EmbeddedServer({
      clock,
      acl: new Acl(options.password === undefined ? {} : { password: options.password }),
      config: { requirepass: options.password ?? '' },
    });
    attachAof(server, options.aof);
    port = await server.listen(port, host);
    server.onShutdown = () => {
      closed = true;
      void server.close();
    };
    return server;
  };

  let server = await create();
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    get url() {
      return `redis://${auth}${host}:${port}`;
    },
    host,
    get port() {
      return port;
    },
    get server() {
      return server;
    },
    async close() {
      closed = true;
      await server.close();
    },
    async restart() {
      if (closed) throw new Error('startEmbeddedRedis: restart() after close()');
      await server.close();
      server = await create();
    },
  };
}
