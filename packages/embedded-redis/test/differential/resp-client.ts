import { createConnection, type Socket } from 'node:net';

/**
 * A small raw-socket RESP2/RESP3 client for the differential tests: it sends commands and hands
 * back each reply as its exact bytes plus a parsed tree, so two servers' replies can be compared
 * byte for byte or structurally. It knows nothing about commands (no iovalkey).
 */

/** One parsed RESP value; `type` is the reply's first byte (`+ - : $ * % ~ > _ , # ( = !`). */
export interface RespNode {
  readonly type: string;
  /** The line or payload of a scalar (`null` for RESP2 null bulk/array). */
  readonly text: string | null;
  /** Children of aggregates, in wire order (a map's keys and values alternate). */
  readonly items: readonly RespNode[];
  /** The exact bytes of this value. */
  readonly raw: Buffer;
}

const AGGREGATES = new Set(['*', '%', '~', '>', '|']);

/** Parses one value at `offset`; undefined when the buffer does not hold all of it yet. */
export function parseFrame(buffer: Buffer, offset: number): { node: RespNode; next: number } | undefined {
  if (offset >= buffer.length) return undefined;
  const lineEnd = buffer.indexOf('\r\n', offset, 'latin1');
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset] as number);
  const line = buffer.toString('latin1', offset + 1, lineEnd);
  if (type === '$' || type === '=' || type === '!') {
    const length = Number(line);
    if (length < 0) {
      return {
        node: { type, text: null, items: [], raw: buffer.subarray(offset, lineEnd + 2) },
        next: lineEnd + 2,
      };
    }
    const end = lineEnd + 2 + length;
    if (buffer.length < end + 2) return undefined;
    const text = buffer.toString('latin1', lineEnd + 2, end);
    return { node: { type, text, items: [], raw: buffer.subarray(offset, end + 2) }, next: end + 2 };
  }
  if (AGGREGATES.has(type)) {
    const count = Number(line);
    if (count < 0) {
      return {
        node: { type, text: null, items: [], raw: buffer.subarray(offset, lineEnd + 2) },
        next: lineEnd + 2,
      };
    }
    const total = type === '%' || type === '|' ? count * 2 : count;
    const items: RespNode[] = [];
    let next = lineEnd + 2;
    for (let i = 0; i < total; i++) {
      const child = parseFrame(buffer, next);
      if (!child) return undefined;
      items.push(child.node);
      next = child.next;
    }
    if (type === '|') {
      // An attribute precedes the value it describes; keep both as one frame.
      const value = parseFrame(buffer, next);
      if (!value) return undefined;
      items.push(value.node);
      next = value.next;
    }
    return { node: { type, text: null, items, raw: buffer.subarray(offset, next) }, next };
  }
  if ('+-:_,#('.includes(type)) {
    return {
      node: { type, text: line, items: [], raw: buffer.subarray(offset, lineEnd + 2) },
      next: lineEnd + 2,
    };
  }
  throw new Error(`unexpected RESP type byte ${JSON.stringify(type)} in ${JSON.stringify(line)}`);
}

/** Encodes a command as a RESP array of bulk strings (strings as UTF-8). */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`, 'latin1'), bytes, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

/** Renders a value readably for failure messages. */
export function describeNode(node: RespNode): string {
  return JSON.stringify(node.raw.toString('latin1'));
}

/** One connection. Replies (and pushes) are queued in arrival order; `read()` takes the next. */
export class RespConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly frames: RespNode[] = [];
  private readonly waiters: Array<{ resolve: (node: RespNode) => void; reject: (error: Error) => void }> = [];
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Connects to host:port; resolves once connected. */
  static connect(port: number, host = '127.0.0.1'): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RespConnection(socket));
      });
    });
  }

  /** Whether the server has closed the connection (or it failed). */
  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Sends a command without waiting for its reply. */
  write(args: ReadonlyArray<string | Buffer>): void {
    this.socket.write(encodeCommand(args));
  }

  /** Sends raw bytes (inline commands, malformed input). */
  writeRaw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** The next reply or push; rejects after `timeoutMs` or when the connection closes. */
  read(timeoutMs = 5_000): Promise<RespNode> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (node: RespNode) => {
          clearTimeout(timer);
          resolve(node);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Whether a reply or push is queued right now. */
  get pending(): number {
    return this.frames.length;
  }

  /** Sends a command and resolves with its reply. */
  async call(args: ReadonlyArray<string | Buffer>, timeoutMs?: number): Promise<RespNode> {
    this.write(args);
    return this.read(timeoutMs);
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    for (;;) {
      let parsed: { node: RespNode; next: number } | undefined;
      try {
        parsed = parseFrame(this.buffer, offset);
      } catch (error) {
        this.fail(error as Error);
        this.socket.destroy();
        return;
      }
      if (!parsed) break;
      offset = parsed.next;
      // Copy: the frame must not pin (or alias) the receive buffer.
      const node = copyNode(parsed.node);
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(node);
      else this.frames.push(node);
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

function copyNode(node: RespNode): RespNode {
  return { type: node.type, text: node.text, items: node.items.map(copyNode), raw: Buffer.from(node.raw) };
}
