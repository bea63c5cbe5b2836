import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptSocket } from '../src/socket-reader.js';

let server: Server | undefined;

afterEach(async () => {
  const open = server;
  server = undefined;
  if (open) await new Promise<void>((resolve) => open.close(() => resolve()));
});

/** A server whose connections are adopted; resolves with the port and the adopted sockets' chunks. */
async function adoptingServer(): Promise<{ port: number; chunks: Buffer[]; adopted: Socket[] }> {
  const chunks: Buffer[] = [];
  const adopted: Socket[] = [];
  server = createServer({ pauseOnConnect: true }, (accepted) => {
    const socket = adoptSocket(accepted, (chunk) => chunks.push(chunk));
    socket.on('error', () => socket.destroy());
    adopted.push(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, chunks, adopted };
}

describe('adoptSocket', () => {
  it('hands over every byte in order, and chunks kept across reads are never overwritten', async () => {
    const { port, chunks, adopted } = await adoptingServer();
    const client = connect(port, '127.0.0.1');
    await once(client, 'connect');
    // 3 MiB in writes of varying size: many reads, several slabs, a pattern that shows any overlap.
    const sent = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 13)) & 0xff;
    for (let at = 0, step = 1; at < sent.length; step = (step * 5 + 3) % 20_000) {
      const end = Math.min(sent.length, at + step + 1);
      client.write(sent.subarray(at, end));
      at = end;
    }
    const deadline = Date.now() + 10_000;
    while (chunks.reduce((sum, chunk) => sum + chunk.length, 0) < sent.length && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(sent)).toBe(true);
    expect(adopted).toHaveLength(1);
    client.destroy();
    await once(adopted[0] as Socket, 'close');
  });

  it('writes back through the adopted socket and lets the server close once clients are gone', async () => {
    const { port, adopted } = await adoptingServer();
    const client = connect(port, '127.0.0.1');
    await once(client, 'connect');
    const reply = once(client, 'data');
    while (adopted.length === 0) await new Promise((resolve) => setImmediate(resolve));
    (adopted[0] as Socket).write('+PONG\r\n');
    expect(String((await reply)[0])).toBe('+PONG\r\n');
    expect(await new Promise((resolve) => server?.getConnections((_, count) => resolve(count)))).toBe(0);
    client.end();
    await once(adopted[0] as Socket, 'close');
  });

  it('falls back to data events on a socket without a handle of its own', () => {
    const bare = new Socket();
    const seen: Buffer[] = [];
    const result = adoptSocket(bare, (chunk) => seen.push(chunk));
    expect(result).toBe(bare);
    bare.emit('data', Buffer.from('x'));
    expect(seen.map(String)).toEqual(['x']);
    bare.destroy();
  });
});
