import { AlreadySettledError, ConfigError, type Settlement } from '@relaybus/core';
import { describe, expect, it } from 'vitest';
import { PubSubDelivery } from '../src/delivery.js';
import { utf8 } from './helpers.js';

function delivery(nacks: Settlement[] = []): PubSubDelivery {
  return new PubSubDelivery('id-1', 'orders', utf8('body'), { a: 'b' }, (settlement) =>
    nacks.push(settlement),
  );
}

describe('Pub/Sub delivery', () => {
  it('carries what it was made with, and is a first delivery', () => {
    const d = delivery();
    expect([d.id, d.subject, d.headers, d.deliveryCount, d.redelivered, d.settled]).toEqual([
      'id-1',
      'orders',
      { a: 'b' },
      1,
      false,
      false,
    ]);
    expect(d.payload).toEqual(utf8('body'));
  });

  it('acks once: a second ack or nack rejects with AlreadySettledError', async () => {
    const nacks: Settlement[] = [];
    const d = delivery(nacks);
    await expect(d.ack()).resolves.toBeUndefined();
    expect(d.settled).toBe(true);
    await expect(d.ack()).rejects.toThrow(AlreadySettledError);
    await expect(d.nack()).rejects.toThrow(AlreadySettledError);
    expect(nacks).toEqual([]);
  });

  it('reports a nack to its subscription with the settlement it stands for', async () => {
    const nacks: Settlement[] = [];
    await delivery(nacks).nack();
    await delivery(nacks).nack({ requeue: true, delayMs: 50 });
    await delivery(nacks).nack({ requeue: false, reason: 'bad' });
    expect(nacks).toEqual([
      { kind: 'requeue', delayMs: 0 },
      { kind: 'requeue', delayMs: 50 },
      { kind: 'dead-letter', reason: 'bad' },
    ]);
  });

  it('rejects invalid nack options without settling, like every relaybus delivery', async () => {
    const nacks: Settlement[] = [];
    const d = delivery(nacks);
    await expect(d.nack({ requeue: false, delayMs: 5 })).rejects.toThrow(ConfigError);
    await expect(d.nack({ delayMs: -1 })).rejects.toMatchObject({ option: 'delayMs' });
    expect(d.settled).toBe(false);
    await d.ack();
    // Invalid options are named before the settled state is looked at.
    await expect(d.nack({ delayMs: -1 })).rejects.toThrow(ConfigError);
    await expect(d.nack({ requeue: false })).rejects.toThrow(AlreadySettledError);
    expect(nacks).toEqual([]);
  });
});
