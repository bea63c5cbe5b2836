import { makeTempDir, removeDir } from './process.js';
import type { RedisServer, RedisServerOptions, RestartOptions } from './server.js';

/**
 * The fallback to `@relaybus/embedded-redis`, the Redis-compatible server in TypeScript, for
 * machines without redis-server. Loaded lazily so real-server runs never load it.
 */

/** What `RELAYBUS_TEST_REDIS` (or a `server` option) asks for. */
export type ServerChoice = 'real' | 'embedded' | undefined;

/**
 * The server choice: `explicit` when given, else `RELAYBUS_TEST_REDIS` (`real`, `embedded`, or
 * unset/empty for automatic). Throws for any other value, naming it.
 */
export function serverChoice(explicit?: 'real' | 'embedded'): ServerChoice {
  if (explicit !== undefined) {
    if (explicit !== 'real' && explicit !== 'embedded') {
      throw new Error(`option "server" must be "real" or "embedded", got ${JSON.stringify(explicit)}`);
    }
    return explicit;
  }
  const forced = process.env.RELAYBUS_TEST_REDIS;
  if (forced === undefined || forced === '') return undefined;
  if (forced === 'real' || forced === 'embedded') return forced;
  throw new Error(`RELAYBUS_TEST_REDIS must be "real" or "embedded", got ${JSON.stringify(forced)}`);
}

/**
 * What a real server can do and the embedded one cannot (TLS, redis-server arguments). A test
 * catches it and skips with `reason`:
 *
 * ```ts
 * try { server = await startRedis({ tls: true }); }
 * catch (error) { if (error instanceof EmbeddedUnsupportedError) return ctx.skip(error.reason); throw error; }
 * ```
 */
export class EmbeddedUnsupportedError extends Error {
  /** Stable code for matching without `instanceof`. */
  readonly code = 'EMBEDDED_UNSUPPORTED';
  /** Why the embedded server cannot do it, for a skip message. */
  readonly reason: string;
  constructor(reason: string) {
    super(
      `not supported by the embedded server (@relaybus/embedded-redis): ${reason}; set RELAYBUS_TEST_REDIS=real to use redis-server`,
    );
    this.name = 'EmbeddedUnsupportedError';
    this.reason = reason;
  }
}

let announced = false;

/** Says once per process, on stderr, that tests run on the embedded server and why. */
export function announceEmbedded(why: string): void {
  if (announced) return;
  announced = true;
  process.stderr.write(`relaybus: using the embedded Redis server (@relaybus/embedded-redis): ${why}\n`);
}

/** The shape of `@relaybus/embedded-redis` this harness uses (checked when loaded). */
interface EmbeddedModule {
  startEmbeddedRedis(options: {
    port?: number;
    host?: string;
    password?: string;
    aof?: { dir: string; fsync: 'always' | 'everysec' | 'no' };
  }): Promise<{
    readonly url: string;
    readonly host: string;
    readonly port: number;
    close(): Promise<void>;
    restart(): Promise<void>;
  }>;
  startEmbeddedRedisCluster?(options: { nodes?: number; host?: string; password?: string }): Promise<{
    readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
    readonly urls: string[];
    stopNode(index: number): Promise<void>;
    startNode(index: number): Promise<void>;
    close(): Promise<void>;
  }>;
}

/** Loads `@relaybus/embedded-redis`. */
export async function loadEmbedded(): Promise<EmbeddedModule> {
  const module = (await import('@relaybus/embedded-redis')) as unknown as EmbeddedModule;
  if (typeof module.startEmbeddedRedis !== 'function') {
    throw new Error(
      '@relaybus/embedded-redis does not export startEmbeddedRedis (is it built? run `pnpm run build`)',
    );
  }
  return module;
}

class EmbeddedRedisServer implements RedisServer {
  readonly kind = 'embedded' as const;
  private stopped = false;

  constructor(
    private readonly handle: Awaited<ReturnType<EmbeddedModule['startEmbeddedRedis']>>,
    private readonly dir: string | undefined,
  ) {}

  get url(): string {
    return this.handle.url;
  }

  get host(): string {
    return this.handle.host;
  }

  get port(): number {
    return this.handle.port;
  }

  /**
   * Both kinds drop every connection at once (pending replies are not sent) and start a new
   * server on the same port: with persistence it replays the append-only file (fsync always),
   * without it the data is gone. `{ kill: true }` behaves the same: there is no process to
   * SIGKILL, so a write torn by a dying process is not simulated.
   */
  async restart(_options: RestartOptions = {}): Promise<void> {
    if (this.stopped) throw new Error('cannot restart a stopped server');
    await this.handle.restart();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.handle.close();
    if (this.dir !== undefined) removeDir(this.dir);
  }
}

/** Starts the embedded server with `startRedis`'s options; rejects for the ones it cannot honour. */
export async function startEmbeddedServer(options: RedisServerOptions): Promise<RedisServer> {
  if (options.tls) throw new EmbeddedUnsupportedError('TLS (option tls: true)');
  if (options.args !== undefined && options.args.length > 0) {
    throw new EmbeddedUnsupportedError(`redis-server arguments (${options.args.join(' ')})`);
  }
  const module = await loadEmbedded();
  const dir = options.persistence ? makeTempDir() : undefined;
  try {
    const handle = await module.startEmbeddedRedis({
      port: 0,
      host: '127.0.0.1',
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(dir === undefined ? {} : { aof: { dir, fsync: 'always' as const } }),
    });
    return new EmbeddedRedisServer(handle, dir);
  } catch (error) {
    if (dir !== undefined) removeDir(dir);
    throw error;
  }
}
