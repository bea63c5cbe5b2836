import { EventEmitter } from 'node:events';
import {
  ClosedError,
  ConfigError,
  defaultLogger,
  describeValue,
  type Logger,
  RelaybusError,
  TransportError,
} from '@relaybus/core';
import { Cluster } from 'iovalkey';
import { createClient, finishClose, type RedisClient } from './client.js';
import { KeySpace } from './keys.js';
import type { ResolvedRedisOptions } from './options.js';

/**
 * Connection state of a client, or of the connector as a whole: `connecting` until the first
 * ready (retries included), `ready`, `reconnecting` after a ready connection was lost (until it is
 * ready again), `closed` after close (or when iovalkey gives up).
 */
export type ConnectionStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** What a 'status' event carries besides the status. */
export interface StatusDetail {
  /** The role of the client whose status changed (e.g. `publisher`, `reader`). */
  role: string;
  /** The error that caused the change, when there was one. */
  error?: Error;
}

/** Events of `RedisConnector`. */
export interface RedisConnectorEvents {
  /** A client's status changed. */
  status: [status: ConnectionStatus, detail: StatusDetail];
}

/** Options of `RedisConnector.client`. */
export interface ClientOptions {
  /**
   * A new connection of its own instead of the role's shared one: for blocking reads
   * (XREADGROUP BLOCK, BLMOVE) and SUBSCRIBE, which hold their connection.
   */
  dedicated?: boolean;
}

/** What `RedisConnector.health()` reports. */
export interface ConnectorHealth {
  [detail: string]: unknown;
  /**
   * `closed` after close(); `ready` when every client is ready; `reconnecting` when any client
   * lost its connection; else `connecting` (also before the first client is made).
   */
  status: ConnectionStatus;
  /** `status === 'ready'`: every client this connector made is connected. */
  connected: boolean;
  /** Clients open now. */
  clients: number;
  /** Message of the last connection error, if any happened. */
  lastError?: string;
}

interface Tracked {
  readonly client: RedisClient;
  readonly role: string;
  readonly dedicated: boolean;
  status: ConnectionStatus;
  wasReady: boolean;
  errorLogged: boolean;
}

const QUIT_TIMEOUT_MS = 2_000;
const END_TIMEOUT_MS = 2_000;

/** Resolves once `client` emits 'end', or after `timeoutMs` (a socket that never closes). */
function waitForEnd(client: RedisClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      client.off('end', done);
      resolve();
    }
    client.once('end', done);
  });
}

function checkRole(role: unknown): string {
  if (typeof role !== 'string' || !/^[A-Za-z0-9._:@-]{1,64}$/.test(role)) {
    throw new ConfigError('role', `must be 1–64 characters of [A-Za-z0-9._:@-], got ${describeValue(role)}`);
  }
  return role;
}

/**
 * Owns every Redis connection of one transport: one shared client per role, plus dedicated ones
 * for blocking commands. It names each connection (`CLIENT SETNAME ${connectionName}:${role}`),
 * logs status changes and connection errors (so iovalkey never throws an unhandled 'error'), emits
 * them as 'status' events, and closes everything in `close()`.
 */
export class RedisConnector extends EventEmitter<RedisConnectorEvents> {
  /** Key naming with the configured prefix. */
  readonly keys: KeySpace;
  readonly #options: ResolvedRedisOptions;
  readonly #logger: Logger;
  readonly #shared = new Map<string, Tracked>();
  readonly #all = new Set<Tracked>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #lastError: string | undefined;
  /** The error behind a client's next status change, reported with it. */
  readonly #pendingError = new WeakMap<Tracked, Error>();

  constructor(options: ResolvedRedisOptions, logger: Logger = defaultLogger()) {
    super();
    this.#options = options;
    this.#logger = logger.child({ component: 'redis-connector', target: options.target });
    this.keys = new KeySpace(options.keyPrefix);
  }

  /** True when connected to a Cluster (clients are iovalkey `Cluster`s). */
  get isCluster(): boolean {
    return this.#options.mode === 'cluster';
  }

  /** The options this connector was made with. */
  get options(): ResolvedRedisOptions {
    return this.#options;
  }

  /**
   * The client for `role`: the same shared client on every call, or with `{ dedicated: true }` a
   * new connection each time (closed by `close()`, or by you with `quit()`/`disconnect()`).
   * Connecting starts at once; commands sent before it is ready are queued by iovalkey.
   * Throws `ClosedError` after `close()`.
   */
  client(role: string, options: ClientOptions = {}): RedisClient {
    if (this.#closed) throw new ClosedError('RedisConnector');
    checkRole(role);
    if (!options.dedicated) {
      const existing = this.#shared.get(role);
      if (existing) return existing.client;
    }
    const client = createClient(this.#options, `${this.#options.connectionName}:${role}`);
    const tracked: Tracked = {
      client,
      role,
      dedicated: options.dedicated ?? false,
      status: 'connecting',
      wasReady: false,
      errorLogged: false,
    };
    this.#watch(tracked);
    this.#all.add(tracked);
    if (!tracked.dedicated) this.#shared.set(role, tracked);
    client.connect().catch((error: unknown) => {
      // Also reported through the 'error' listener; iovalkey keeps retrying per retryStrategy.
      this.#logger.debug({ role, err: error }, 'redis connect attempt failed');
    });
    return client;
  }

  /** Same as `client(role, { dedicated: true })`: a new connection for blocking commands. */
  duplicateFor(role: string): RedisClient {
    return this.client(role, { dedicated: true });
  }

  /** Current state of all clients, without I/O. */
  health(): ConnectorHealth {
    const status = this.#aggregate();
    const report: ConnectorHealth = { status, connected: status === 'ready', clients: this.#all.size };
    if (this.#lastError !== undefined) report.lastError = this.#lastError;
    return report;
  }

  /**
   * Closes every client this connector made: shared clients QUIT (pending replies arrive first,
   * at most 2 s), dedicated ones disconnect at once (a blocked command is aborted; unacknowledged
   * stream entries stay pending). Later `client()` calls throw `ClosedError`. Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= Promise.all([...this.#all].map((tracked) => this.#closeClient(tracked))).then(
      () => undefined,
    );
    return this.#closing;
  }

  async #closeClient(tracked: Tracked): Promise<void> {
    const { client } = tracked;
    if (!tracked.dedicated && client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.quit(),
          new Promise((resolve) => {
            timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
          }),
        ]);
      } catch (error) {
        this.#logger.debug({ role: tracked.role, err: error }, 'QUIT failed; disconnecting');
      } finally {
        clearTimeout(timer);
      }
    }
    client.disconnect();
    if (client.status === 'reconnecting' || client.status === 'wait') finishClose(client);
    else if (client.status !== 'end') await waitForEnd(client, END_TIMEOUT_MS);
    this.#setStatus(tracked, 'closed');
    this.#all.delete(tracked);
  }

  #watch(tracked: Tracked): void {
    const { client, role } = tracked;
    const reconnectingOrConnecting = (): void =>
      this.#setStatus(tracked, tracked.wasReady ? 'reconnecting' : 'connecting');
    client.on('connecting', reconnectingOrConnecting);
    // Retries before the first 'ready' are still 'connecting': nothing was lost yet.
    client.on('reconnecting', reconnectingOrConnecting);
    client.on('ready', () => {
      tracked.wasReady = true;
      tracked.errorLogged = false;
      this.#setStatus(tracked, 'ready');
    });
    client.on('end', () => {
      this.#setStatus(tracked, 'closed');
      this.#all.delete(tracked);
      if (this.#shared.get(role) === tracked) this.#shared.delete(role);
    });
    const onError = (error: Error): void => {
      redactCredentials(error);
      this.#lastError = error.message;
      // One warning per outage; repeats while reconnecting go to debug.
      if (tracked.errorLogged) this.#logger.debug({ role, err: error }, 'redis connection error');
      else this.#logger.warn({ role, err: error }, 'redis connection error');
      tracked.errorLogged = true;
      this.#pendingError.set(tracked, error);
    };
    client.on('error', onError);
    if (client instanceof Cluster) {
      client.on('node error', (error: Error, node: string) => {
        this.#lastError = `${node}: ${error.message}`;
        this.#logger.debug({ role, node, err: error }, 'redis cluster node error');
      });
    }
  }

  /**
   * Resolves once `client` answers PING. A failure rejects with a `TransportError` naming the
   * target (never its credentials), the iovalkey error as its `cause` with AUTH/HELLO arguments
   * masked, so a caller that logs it logs no password.
   */
  async ping(client: RedisClient): Promise<void> {
    try {
      await client.ping();
    } catch (error) {
      if (error instanceof RelaybusError) throw error;
      if (error instanceof Error) redactCredentials(error);
      const reason = error instanceof Error ? error.message : String(error);
      throw new TransportError(`connecting to ${this.#options.target} failed: ${reason}`, { cause: error });
    }
  }

  #setStatus(tracked: Tracked, status: ConnectionStatus): void {
    if (tracked.status === status || tracked.status === 'closed') return;
    tracked.status = status;
    const error = this.#pendingError.get(tracked);
    this.#pendingError.delete(tracked);
    const detail: StatusDetail = { role: tracked.role };
    if (error && status !== 'ready') detail.error = error;
    const level = status === 'reconnecting' ? 'warn' : 'debug';
    this.#logger[level](
      { role: tracked.role, status, err: detail.error },
      `redis ${tracked.role}: ${status}`,
    );
    this.emit('status', status, detail);
  }

  #aggregate(): ConnectionStatus {
    if (this.#closed) return 'closed';
    if (this.#all.size === 0) return 'connecting';
    let allReady = true;
    let anyReconnecting = false;
    for (const tracked of this.#all) {
      if (tracked.status !== 'ready') allReady = false;
      if (tracked.status === 'reconnecting') anyReconnecting = true;
    }
    if (allReady) return 'ready';
    return anyReconnecting ? 'reconnecting' : 'connecting';
  }
}

/** Commands whose arguments carry credentials. */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello', 'migrate', 'config']);

/**
 * iovalkey puts the failed command on its errors (`error.command.args`): for AUTH and HELLO those
 * are the user name and password. Masks them in place, so the same error object is safe to log
 * wherever it travels (the connector's own log, a rejected publish, a caller's logger).
 */
export function redactCredentials(error: Error): void {
  const command = (error as { command?: { name?: unknown; args?: unknown } }).command;
  if (command === undefined || command === null || typeof command !== 'object') return;
  const name = typeof command.name === 'string' ? command.name.toLowerCase() : '';
  if (CREDENTIAL_COMMANDS.has(name) && Array.isArray(command.args)) {
    command.args = command.args.map(() => '***');
  }
}
