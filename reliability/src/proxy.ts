import { createServer, type Server, Socket } from 'node:net';

/** Where a `FaultProxy` forwards to. */
export interface FaultProxyTarget {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  readonly port: number;
}

/** What a `FaultProxy` has done so far. */
export interface FaultProxyStats {
  /** Client connections accepted. */
  readonly accepted: number;
  /** Client connections open now. */
  readonly open: number;
  /** Connections destroyed by `cut()`. */
  readonly cut: number;
  /** Bytes forwarded client → server and server → client. */
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/** Above this many queued bytes in one direction the sending socket is paused. */
const HIGH_WATER_BYTES = 1 << 20;

interface Chunk {
  readonly data: Buffer;
  /** When it may be written (ms, `performance.now()` clock). */
  readonly dueAt: number;
}

/**
 * One direction of one proxied connection: reads `from`, writes `to`, in order, honouring the
 * proxy's stall and per-chunk delay.
 */
class Lane {
  readonly #queue: Chunk[] = [];
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #paused = false;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly count: (bytes: number) => void,
  ) {
    from.on('data', (data: Buffer) => this.#onData(data));
  }

  #onData(data: Buffer): void {
    const delayMs = this.proxy.delayMs;
    if (this.#queue.length === 0 && delayMs === 0 && !this.proxy.stalled) {
      this.#write(data);
      return;
    }
    this.#queue.push({ data, dueAt: performance.now() + delayMs });
    this.#queuedBytes += data.length;
    if (this.#queuedBytes > HIGH_WATER_BYTES && !this.#paused) {
      this.#paused = true;
      this.from.pause();
    }
    this.pump();
  }

  /** Writes what is due; arms a timer for the rest. */
  pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.to.destroyed) return;
    const now = performance.now();
    const stallLeft = this.proxy.stallRemainingMs(now);
    if (stallLeft > 0) {
      // A stall holds queued bytes too; the proxy pumps every lane again when it ends.
      return;
    }
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Chunk;
      if (head.dueAt > now) {
        this.#timer = setTimeout(() => this.pump(), Math.ceil(head.dueAt - now));
        return;
      }
      this.#queue.shift();
      this.#queuedBytes -= head.data.length;
      this.#write(head.data);
    }
    if (this.#paused && this.#queuedBytes <= HIGH_WATER_BYTES / 2) {
      this.#paused = false;
      this.from.resume();
    }
  }

  #write(data: Buffer): void {
    this.count(data.length);
    if (!this.to.write(data) && !this.#paused) {
      this.#paused = true;
      this.from.pause();
      this.to.once('drain', () => {
        this.#paused = false;
        if (!this.from.destroyed) this.from.resume();
      });
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }
}

interface Pair {
  readonly client: Socket;
  readonly server: Socket;
  readonly lanes: readonly [Lane, Lane];
}

/**
 * A TCP proxy on loopback between clients and one Redis server, for fault tests: it can cut every
 * connection at once, stall all traffic for a while (bytes are held, then delivered in order) and
 * slow every chunk down by a fixed delay. New connections are accepted throughout, so clients that
 * reconnect after a cut get through at once.
 *
 * Guarantee: apart from the faults asked for, bytes are forwarded unchanged and in order in each
 * direction; `close()` closes the listening socket and every connection.
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #target: Required<FaultProxyTarget>;
  readonly #pairs = new Set<Pair>();
  #stalledUntil = 0;
  #stallTimer: NodeJS.Timeout | undefined;
  #delayMs = 0;
  #port = 0;
  #closed = false;
  #accepted = 0;
  #cut = 0;
  #bytesUp = 0;
  #bytesDown = 0;

  private constructor(target: FaultProxyTarget) {
    this.#target = { host: target.host ?? '127.0.0.1', port: target.port };
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Starts a proxy to `target` on a free 127.0.0.1 port; resolves once it listens. */
  static async start(target: FaultProxyTarget): Promise<FaultProxy> {
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65_535) {
      throw new RangeError(`FaultProxy: target.port must be an integer 1..65535, got ${String(target.port)}`);
    }
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    const address = proxy.#server.address();
    if (address === null || typeof address === 'string') throw new Error('FaultProxy: no TCP address');
    proxy.#port = address.port;
    return proxy;
  }

  /** The port the proxy listens on (127.0.0.1). */
  get port(): number {
    return this.#port;
  }

  /** `redis://[:password@]127.0.0.1:<port>`: the target reached through the proxy. */
  url(password?: string): string {
    const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
    return `redis://${auth}127.0.0.1:${this.#port}`;
  }

  /** The per-chunk delay in force (see `slow`). */
  get delayMs(): number {
    return this.#delayMs;
  }

  /** True while a stall holds traffic. */
  get stalled(): boolean {
    return this.stallRemainingMs(performance.now()) > 0;
  }

  /** Milliseconds left of the current stall at `now` (0 when none). */
  stallRemainingMs(now: number): number {
    return Math.max(0, this.#stalledUntil - now);
  }

  stats(): FaultProxyStats {
    return {
      accepted: this.#accepted,
      open: this.#pairs.size,
      cut: this.#cut,
      bytesUp: this.#bytesUp,
      bytesDown: this.#bytesDown,
    };
  }

  /**
   * Destroys every open connection at once (both sides, with a TCP reset), as a network failure
   * would; returns how many. Connections made afterwards are forwarded normally.
   */
  cut(): number {
    const pairs = [...this.#pairs];
    for (const pair of pairs) this.#destroy(pair, true);
    this.#cut += pairs.length;
    return pairs.length;
  }

  /**
   * Stops forwarding in both directions for `ms`: connections stay open, bytes sent meanwhile are
   * held and delivered in order when the stall ends (as over a link that went quiet). Resolves
   * when the stall ends; a later call extends it.
   */
  stall(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`FaultProxy.stall: ms must be >= 0, got ${ms}`);
    const until = performance.now() + ms;
    this.#stalledUntil = Math.max(this.#stalledUntil, until);
    clearTimeout(this.#stallTimer);
    return new Promise((resolve) => {
      this.#stallTimer = setTimeout(
        () => {
          this.#stallTimer = undefined;
          // The timer's clock and performance.now() differ by a fraction of a millisecond: end the
          // stall outright, or a lane could still see it running, keep its bytes and never pump.
          this.#stalledUntil = 0;
          for (const pair of this.#pairs) for (const lane of pair.lanes) lane.pump();
          resolve();
        },
        Math.ceil(this.#stalledUntil - performance.now()),
      );
    });
  }

  /** Delays every chunk, in both directions, by `delayMs` (order kept); `slow(0)` stops it. */
  slow(delayMs: number): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`FaultProxy.slow: delayMs must be >= 0, got ${delayMs}`);
    }
    this.#delayMs = delayMs;
  }

  /** Closes the listener and every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#stallTimer);
    for (const pair of [...this.#pairs]) this.#destroy(pair, false);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    this.#accepted++;
    client.setNoDelay(true);
    const server = new Socket();
    server.setNoDelay(true);
    const up = new Lane(this, client, server, (bytes) => {
      this.#bytesUp += bytes;
    });
    const down = new Lane(this, server, client, (bytes) => {
      this.#bytesDown += bytes;
    });
    const pair: Pair = { client, server, lanes: [up, down] };
    this.#pairs.add(pair);
    const end = (): void => this.#destroy(pair, false);
    client.on('error', end);
    server.on('error', end);
    client.on('close', end);
    server.on('close', end);
    // Bytes the client sends before the upstream connects are written once it does (net queues them).
    server.connect(this.#target.port, this.#target.host);
  }

  #destroy(pair: Pair, reset: boolean): void {
    if (!this.#pairs.delete(pair)) return;
    for (const lane of pair.lanes) lane.dispose();
    for (const socket of [pair.client, pair.server]) {
      if (socket.destroyed) continue;
      if (reset && typeof socket.resetAndDestroy === 'function' && socket.readyState === 'open') {
        socket.resetAndDestroy();
      } else {
        socket.destroy();
      }
    }
  }
}
