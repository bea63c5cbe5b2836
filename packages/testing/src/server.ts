import { existsSync } from 'node:fs';
import { startContainer } from './container.js';
import { announceEmbedded, serverChoice, startEmbeddedServer } from './embedded.js';
import { freePort } from './ports.js';
import { cleanStaleDirs, findServerBinary, makeTempDir, removeDir, ServerProcess } from './process.js';
import { answersPing } from './resp.js';
import { createTestCertificates } from './tls.js';
import { delay } from './until.js';

/** Options of `startRedis`. */
export interface RedisServerOptions {
  /**
   * Keep data across `restart()`: AOF with `appendfsync always`, so every acknowledged write
   * survives even a SIGKILL. Default false (no AOF, no RDB: fastest).
   */
  persistence?: boolean;
  /** Require this password (`requirepass`); the server's `url` then carries it. */
  password?: string;
  /** Extra redis-server arguments, appended last (e.g. `['--maxmemory', '10mb']`). */
  args?: string[];
  /**
   * Also listen with TLS on a second port, with a throwaway CA made by the `openssl` CLI; the
   * server's `tls` then says where and what CA to trust. Client certificates are optional.
   * Local servers only.
   */
  tls?: boolean;
  /**
   * Which server to use, overriding `RELAYBUS_TEST_REDIS`: `real` (REDIS_URL, redis-server on
   * PATH or a container; fails when none) or `embedded` (@relaybus/embedded-redis). Default: the
   * environment's choice, else automatic.
   */
  server?: 'real' | 'embedded';
}

/** Where a server started with `tls: true` listens with TLS. */
export interface RedisTlsEndpoint {
  /** `rediss://[:password@]127.0.0.1:<tlsPort>`. */
  readonly url: string;
  readonly port: number;
  /** PEM of the CA that signed the server certificate (valid for `localhost` and `127.0.0.1`). */
  readonly ca: string;
}

/** Options of `RedisServer.restart`. */
export interface RestartOptions {
  /** SIGKILL instead of SIGTERM: a crash, not a shutdown. Default false. */
  kill?: boolean;
}

/** A Redis server for tests. */
export interface RedisServer {
  /** `redis://[:password@]host:port` — connect here. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /**
   * Where it runs: `REDIS_URL` (external), a child process (local), a Docker container, or the
   * embedded server inside this process (embedded).
   */
  readonly kind: 'external' | 'local' | 'container' | 'embedded';
  /** The TLS endpoint when started with `tls: true`. */
  readonly tls?: RedisTlsEndpoint;
  /**
   * Stops the server (SIGTERM, or SIGKILL with `{ kill: true }`) and starts it again on the same
   * port and data dir. Resolves once it answers PING. With `persistence`, every acknowledged write
   * is still there. Rejects for an external server. The embedded server (persistence = its
   * append-only file, fsync always) has no process to kill: `{ kill: true }` drops every
   * connection at once and replays the file, like the plain restart.
   */
  restart(options?: RestartOptions): Promise<void>;
  /** Kills the server and removes its temp dir. Idempotent. Does nothing for an external server. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 10_000;
const MAX_PORT_ATTEMPTS = 5;

/** Builds the redis-server arguments shared by standalone servers and Cluster nodes. */
export function serverArgs(port: number, dir: string, persistence: boolean, password?: string): string[] {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--logfile',
    '',
    '--save',
    '',
    '--appendonly',
    persistence ? 'yes' : 'no',
  ];
  if (persistence) args.push('--appendfsync', 'always');
  if (password !== undefined) args.push('--requirepass', password);
  return args;
}

/** Whether a failed start was a port clash (worth retrying on another port). */
export function isPortClash(log: string): boolean {
  return /address already in use/i.test(log);
}

/**
 * Spawns `binary args` and resolves once host:port answers PING. Rejects, with the server's log
 * tail, when the process exits first or the deadline passes (the process is then killed).
 */
export async function spawnUntilReady(
  binary: string,
  args: readonly string[],
  dir: string,
  port: number,
  password: string | undefined,
  timeoutMs = STARTUP_TIMEOUT_MS,
): Promise<ServerProcess> {
  const proc = new ServerProcess(binary, args, dir);
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  while (!exited && Date.now() < deadline) {
    if (await answersPing('127.0.0.1', port, password)) return proc;
    await delay(20);
  }
  await proc.stop('SIGKILL');
  const { code, signal } = await proc.exited;
  const how = exited
    ? `exited (code ${code}, signal ${signal})`
    : `did not answer PING within ${timeoutMs} ms`;
  throw new ServerStartError(`${binary} on port ${port} ${how}`, proc.logTail());
}

/** A server that failed to start; `log` holds the tail of what it printed. */
export class ServerStartError extends Error {
  readonly log: string;
  constructor(message: string, log: string) {
    super(log ? `${message}. Server log:\n${log}` : message);
    this.name = 'ServerStartError';
    this.log = log;
  }
}

class LocalRedisServer implements RedisServer {
  readonly kind = 'local' as const;
  readonly host = '127.0.0.1';
  private stopped = false;

  constructor(
    private proc: ServerProcess,
    readonly port: number,
    private readonly binary: string,
    private readonly args: string[],
    private readonly dir: string,
    private readonly password: string | undefined,
    readonly tls: RedisTlsEndpoint | undefined,
  ) {}

  get url(): string {
    return formatUrl(this.host, this.port, this.password);
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    if (this.stopped) throw new Error('cannot restart a stopped server');
    await this.proc.stop(options.kill ? 'SIGKILL' : 'SIGTERM');
    // The port was ours a moment ago; if something grabbed it meanwhile, wait for it briefly.
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      try {
        this.proc = await spawnUntilReady(this.binary, this.args, this.dir, this.port, this.password);
        return;
      } catch (error) {
        if (!(error instanceof ServerStartError && isPortClash(error.log)) || Date.now() > deadline)
          throw error;
        await delay(100);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.proc.stop('SIGKILL');
    removeDir(this.dir);
  }
}

class ExternalRedisServer implements RedisServer {
  readonly kind = 'external' as const;
  readonly host: string;
  readonly port: number;

  constructor(readonly url: string) {
    const parsed = new URL(url);
    this.host = parsed.hostname;
    this.port = parsed.port ? Number(parsed.port) : 6379;
  }

  async restart(): Promise<void> {
    throw new Error(
      `cannot restart an external server (REDIS_URL=${redact(this.url)}); unset REDIS_URL to test restarts`,
    );
  }

  async stop(): Promise<void> {
    // not ours to stop
  }
}

function formatUrl(host: string, port: number, password: string | undefined, scheme = 'redis'): string {
  return password === undefined
    ? `${scheme}://${host}:${port}`
    : `${scheme}://:${encodeURIComponent(password)}@${host}:${port}`;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Starts a local redis-server (or valkey-server) from PATH on a free loopback port. */
async function startLocal(binary: string, options: RedisServerOptions): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < MAX_PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const dir = makeTempDir();
    const args = serverArgs(port, dir, options.persistence ?? false, options.password);
    let tls: RedisTlsEndpoint | undefined;
    try {
      if (options.tls) {
        const tlsPort = await freePort();
        const certificates = await createTestCertificates(dir);
        args.push(
          '--tls-port',
          String(tlsPort),
          '--tls-cert-file',
          certificates.certFile,
          '--tls-key-file',
          certificates.keyFile,
          '--tls-ca-cert-file',
          certificates.caFile,
          '--tls-auth-clients',
          'optional',
        );
        tls = {
          url: formatUrl('127.0.0.1', tlsPort, options.password, 'rediss'),
          port: tlsPort,
          ca: certificates.ca,
        };
      }
      args.push(...(options.args ?? []));
      const proc = await spawnUntilReady(binary, args, dir, port, options.password);
      return new LocalRedisServer(proc, port, binary, args, dir, options.password, tls);
    } catch (error) {
      removeDir(dir);
      lastError = error;
      if (!(error instanceof ServerStartError && isPortClash(error.log))) throw error;
    }
  }
  throw lastError;
}

/** Whether a Docker engine looks reachable (a socket or DOCKER_HOST); testcontainers confirms. */
function dockerLikely(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

const INSTALL_HINT =
  'install redis-server (`apt-get install -y redis-server`, or valkey-server) so it is on PATH, ' +
  'or set REDIS_URL to a server tests may write to';

/**
 * Starts a throwaway Redis for a test file.
 *
 * Resolution order: `REDIS_URL` when set (kind `external`); else `redis-server`/`valkey-server`
 * from PATH on a free 127.0.0.1 port in a fresh temp dir (kind `local`); else the embedded server
 * (@relaybus/embedded-redis) inside this process (kind `embedded`), saying so once on stderr.
 * `RELAYBUS_TEST_REDIS=real` (or `{ server: 'real' }`) forces a real server: the same order with
 * a Valkey container (Docker and the optional `testcontainers` package) instead of the embedded
 * server, failing when none is found. `RELAYBUS_TEST_REDIS=embedded` (or `{ server: 'embedded' }`)
 * forces the embedded server. The embedded server rejects `tls` and `args` with
 * `EmbeddedUnsupportedError`.
 *
 * Guarantee: when the promise resolves, the server answers PING at `url`. Call `stop()` in
 * `afterAll`; a local server also dies with this process.
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const choice = serverChoice(options.server);
  // Whatever the kind, the first start of a process removes what killed runs left behind.
  cleanStaleDirs();
  if (choice === 'embedded') {
    announceEmbedded('RELAYBUS_TEST_REDIS=embedded');
    return startEmbeddedServer(options);
  }
  const external = process.env.REDIS_URL;
  if (external) {
    if (!/^rediss?:\/\//.test(external)) {
      throw new Error(
        `REDIS_URL must start with redis:// or rediss://, got ${JSON.stringify(redact(external))}`,
      );
    }
    return new ExternalRedisServer(external);
  }
  const binary = findServerBinary();
  if (binary) return startLocal(binary.server, options);
  if (choice === undefined) {
    announceEmbedded(
      'no REDIS_URL and no redis-server/valkey-server on PATH (RELAYBUS_TEST_REDIS=real requires a real one)',
    );
    return startEmbeddedServer(options);
  }
  const reasons: string[] = ['RELAYBUS_TEST_REDIS=real', 'no redis-server or valkey-server on PATH'];
  if (dockerLikely()) {
    try {
      return await startContainer(options);
    } catch (error) {
      reasons.push(`Docker/testcontainers: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    reasons.push('no Docker engine (no DOCKER_HOST, no /var/run/docker.sock)');
  }
  throw new Error(`Cannot start a Redis server for tests (${reasons.join('; ')}): ${INSTALL_HINT}`);
}
