/**
 * Raw RESP connections for the streams tests: the same commands go to a real redis-server and to
 * the embedded server, and the reply bytes are compared.
 */
import { createConnection, type Socket } from 'node:net';

/** End offset of the complete reply at `offset` in `buf`, or -1 when it is incomplete. */
export function replyEnd(buf: Buffer, offset: number): number {
  if (offset >= buf.length) return -1;
  const lineEnd = buf.indexOf('\r\n', offset, 'latin1');
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buf[offset] as number);
  const head = buf.toString('latin1', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '$':
    case '=':
    case '!': {
      const len = Number(head);
      if (len < 0) return after;
      return buf.length >= after + len + 2 ? after + len + 2 : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      let count = Number(head);
      if (count < 0) return after;
      if (type === '%') count *= 2;
      let at = after;
      for (let i = 0; i < count; i++) {
        at = replyEnd(buf, at);
        if (at < 0) return -1;
      }
      return at;
    }
    default:
      return after;
  }
}

/** One raw connection: `send` writes a command and resolves with its reply's bytes (latin1). */
export interface RawConnection {
  send(args: readonly (string | Buffer)[]): Promise<string>;
  /** Resolves with the next reply without sending anything (a blocked command's answer). */
  next(): Promise<string>;
  close(): void;
}

function encode(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Opens a raw connection to 127.0.0.1:`port`. */
export function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createConnection({ host: '127.0.0.1', port });
    let buffer = Buffer.alloc(0);
    const waiting: ((reply: string) => void)[] = [];
    const ready: string[] = [];
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = replyEnd(buffer, 0);
        if (end < 0) break;
        const reply = buffer.toString('latin1', 0, end);
        buffer = buffer.subarray(end);
        const take = waiting.shift();
        if (take) take(reply);
        else ready.push(reply);
      }
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      const next = (): Promise<string> =>
        new Promise((done) => {
          const reply = ready.shift();
          if (reply !== undefined) done(reply);
          else waiting.push(done);
        });
      resolve({
        send(args) {
          socket.write(encode(args));
          return next();
        },
        next,
        close() {
          socket.destroy();
        },
      });
    });
  });
}
