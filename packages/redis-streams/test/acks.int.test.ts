import { silentLogger, TransportError } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckBatcher, type AckListener } from '../src/acks.js';

let server: RedisServer;
let client: Redis;
const opened: Redis[] = [];

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url);
});

afterAll(async () => {
  for (const made of opened) made.disconnect();
  client.disconnect();
  await server.stop();
});

/**
 * A connection of its own (ready) that counts the XACK commands it sends to the server (every command of
 * an iovalkey client goes through `sendCommand`), so the count holds on any server.
 */
async function countingXacks(): Promise<{ acker: Redis; xacks: () => number }> {
  const acker = new Redis(server.url);
  opened.push(acker);
  await acker.ping();
  let sent = 0;
  const send = acker.sendCommand.bind(acker);
  acker.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    if (command.name.toLowerCase() === 'xack') sent++;
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof acker.sendCommand;
  return { acker, xacks: () => sent };
}

/** A stream with `count` entries read (pending) by consumer `c` of group `g`; returns their ids. */
async function pendingEntries(stream: string, count: number): Promise<string[]> {
  for (let i = 0; i < count; i++) await client.xadd(stream, '*', 'n', String(i));
  await client.xgroup('CREATE', stream, 'g', '0');
  const reply = (await client.xreadgroup('GROUP', 'g', 'c', 'COUNT', count, 'STREAMS', stream, '>')) as Array<
    [string, Array<[string, string[]]>]
  >;
  return (reply[0]?.[1] ?? []).map(([id]) => id);
}

describe('AckBatcher', () => {
  it('sends one XACK for acks of one turn and tells each listener before the shared promise resolves', async () => {
    const stream = randomSubject('acks');
    const ids = await pendingEntries(stream, 5);
    const { acker, xacks } = await countingXacks();
    const batcher = new AckBatcher(() => acker, 1_000, 0, silentLogger);
    const told: string[] = [];
    const listener: AckListener<string> = {
      acked: (token) => void told.push(token),
      ackFailed: () => {
        throw new Error('no ack should fail here');
      },
    };
    const promises = ids.map((id, i) =>
      i % 2 === 0
        ? batcher.ackFor(stream, 'g', id, listener, `token-${i}`)
        : batcher.ack(stream, 'g', id).then(() => {
            // Listeners of the batch were told first.
            expect(told).toHaveLength(3);
          }),
    );
    await Promise.all(promises);
    expect(told).toEqual(['token-0', 'token-2', 'token-4']);
    expect(await client.xpending(stream, 'g')).toEqual([0, null, null, null]);
    expect(xacks()).toBe(1);
  });

  it('rejects every ack of a failed XACK with a TransportError and tells the listeners', async () => {
    const stream = randomSubject('acks');
    // A string key where the stream should be: XACK answers WRONGTYPE.
    await client.set(stream, 'not a stream');
    const batcher = new AckBatcher(() => client, 1_000, 0, silentLogger);
    const failed: string[] = [];
    const listener: AckListener<string> = {
      acked: () => {
        throw new Error('no ack should succeed here');
      },
      ackFailed: (token) => void failed.push(token),
    };
    const first = batcher.ackFor(stream, 'g', '1-1', listener, 'a');
    const second = batcher.ackFor(stream, 'g', '1-2', listener, 'b');
    await expect(first).rejects.toBeInstanceOf(TransportError);
    await expect(second).rejects.toThrow(/XACK of 2 entries of .* failed: WRONGTYPE/);
    expect(failed).toEqual(['a', 'b']);
  });

  it('keeps batches of different streams and groups apart', async () => {
    const one = randomSubject('acks');
    const two = randomSubject('acks');
    const [a] = await pendingEntries(one, 1);
    const [b] = await pendingEntries(two, 1);
    const batcher = new AckBatcher(() => client, 1_000, 0, silentLogger);
    await Promise.all([batcher.ack(one, 'g', a as string), batcher.ack(two, 'g', b as string)]);
    expect(await client.xpending(one, 'g')).toEqual([0, null, null, null]);
    expect(await client.xpending(two, 'g')).toEqual([0, null, null, null]);
  });
});
