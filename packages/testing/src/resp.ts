import { createConnection } from 'node:net';

/** A RESP2 reply: simple string, error, integer, bulk string, or an array of replies. */
export type SimpleReply = string | number | null | RespError | SimpleReply[];

/** An error reply (`-ERR …`) from the server. */
export class RespError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespError';
  }
}

function encode(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/** Parses one reply at `offset`; returns it and the next offset, or undefined when incomplete. */
function parseOne(buffer: Buffer, offset: number): { value: SimpleReply; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  switch (type) {
    case '+':
      return { value: line, next: lineEnd + 2 };
    case '-':
      return { value: new RespError(line), next: lineEnd + 2 };
    case ':':
      return { value: Number(line), next: lineEnd + 2 };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: lineEnd + 2 };
      const start = lineEnd + 2;
      if (buffer.length < start + length + 2) return undefined;
      return { value: buffer.toString('utf8', start, start + length), next: start + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: lineEnd + 2 };
      const items: SimpleReply[] = [];
      let next = lineEnd + 2;
      for (let i = 0; i < count; i++) {
        const item = parseOne(buffer, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

/**
 * Sends `commands` on one fresh loopback connection (AUTH first when `password` is given) and
 * resolves with their replies in order. Error replies are returned as `RespError`, not thrown;
 * connection failures and the timeout reject. The connection is always closed.
 */
export function sendCommands(
  host: string,
  port: number,
  commands: ReadonlyArray<readonly string[]>,
  options: { password?: string; timeoutMs?: number } = {},
): Promise<SimpleReply[]> {
  const all = options.password === undefined ? commands : [['AUTH', options.password], ...commands];
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let buffer = Buffer.alloc(0);
    let offset = 0;
    const replies: SimpleReply[] = [];
    const finish = (error?: Error): void => {
      socket.destroy();
      if (error) reject(error);
      else resolve(options.password === undefined ? replies : replies.slice(1));
    };
    socket.setTimeout(options.timeoutMs ?? 2_000, () =>
      finish(new Error(`no reply from ${host}:${port} within ${options.timeoutMs ?? 2_000} ms`)),
    );
    socket.on('error', (error) => finish(error));
    socket.on('close', () => {
      if (replies.length < all.length)
        finish(new Error(`connection to ${host}:${port} closed before replying`));
    });
    socket.on('connect', () => socket.write(all.map(encode).join('')));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        for (;;) {
          const parsed = parseOne(buffer, offset);
          if (!parsed) break;
          replies.push(parsed.value);
          offset = parsed.next;
          if (replies.length === all.length) return finish();
        }
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}

/** One command; resolves with its reply, rejects on an error reply. */
export async function sendCommand(
  host: string,
  port: number,
  args: readonly string[],
  options: { password?: string; timeoutMs?: number } = {},
): Promise<Exclude<SimpleReply, RespError>> {
  const replies = await sendCommands(host, port, [args], options);
  const reply = replies[0];
  if (reply instanceof RespError) throw reply;
  return reply ?? null;
}

/** True when the server at host:port answers PING with PONG (authenticating when asked). */
export async function answersPing(host: string, port: number, password?: string): Promise<boolean> {
  try {
    const replies = await sendCommands(host, port, [['PING']], { password, timeoutMs: 1_000 });
    return replies[0] === 'PONG';
  } catch {
    return false;
  }
}
