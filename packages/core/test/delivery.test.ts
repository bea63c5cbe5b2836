import { describe, expect, it } from 'vitest';
import {
  AlreadySettledError,
  ConfigError,
  createDelivery,
  ErrorCode,
  type Settlement,
} from '../src/index.js';

function recordingDelivery(fail = false) {
  const settlements: Settlement[] = [];
  let failNext = fail;
  const delivery = createDelivery(
    { id: 'm1', subject: 's', payload: new Uint8Array([1]), headers: {}, deliveryCount: 1 },
    async (settlement) => {
      if (failNext) {
        failNext = false;
        throw new Error('server gone');
      }
      settlements.push(settlement);
    },
  );
  return { delivery, settlements };
}

describe('delivery settlement', () => {
  it('passes an ack to the transport once and rejects a second ack with ALREADY_SETTLED', async () => {
    const { delivery, settlements } = recordingDelivery();
    await delivery.ack();
    await expect(delivery.ack()).rejects.toBeInstanceOf(AlreadySettledError);
    await expect(delivery.nack()).rejects.toMatchObject({ code: ErrorCode.AlreadySettled });
    expect(settlements).toEqual([{ kind: 'ack' }]);
    expect(delivery.settled).toBe(true);
  });

  it('rejects concurrent settlement: only the first reaches the transport', async () => {
    const { delivery, settlements } = recordingDelivery();
    const results = await Promise.allSettled([delivery.ack(), delivery.nack({ requeue: true })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(settlements).toHaveLength(1);
  });

  it('maps nack options to requeue, delayed requeue and dead-letter settlements', async () => {
    const a = recordingDelivery();
    await a.delivery.nack();
    const b = recordingDelivery();
    await b.delivery.nack({ requeue: true, delayMs: 250.7 });
    const c = recordingDelivery();
    await c.delivery.nack({ requeue: false, reason: 'bad' });
    expect([...a.settlements, ...b.settlements, ...c.settlements]).toEqual([
      { kind: 'requeue', delayMs: 0 },
      { kind: 'requeue', delayMs: 250 },
      { kind: 'dead-letter', reason: 'bad' },
    ]);
  });

  it('rejects impossible nack options with a ConfigError naming the option, leaving it unsettled', async () => {
    const { delivery } = recordingDelivery();
    await expect(delivery.nack({ delayMs: -1 })).rejects.toThrow(/"delayMs"/);
    await expect(delivery.nack({ requeue: false, delayMs: 5 })).rejects.toBeInstanceOf(ConfigError);
    expect(delivery.settled).toBe(false);
    await delivery.ack();
  });

  it('counts as unsettled again when the transport fails to record the settlement', async () => {
    const { delivery, settlements } = recordingDelivery(true);
    await expect(delivery.ack()).rejects.toThrow('server gone');
    expect(delivery.settled).toBe(false);
    await delivery.ack();
    expect(settlements).toEqual([{ kind: 'ack' }]);
  });

  it('reports redelivered from the delivery count', () => {
    const first = createDelivery(
      { id: 'a', subject: 's', payload: new Uint8Array(), headers: {}, deliveryCount: 1 },
      async () => {},
    );
    const again = createDelivery(
      { id: 'a', subject: 's', payload: new Uint8Array(), headers: {}, deliveryCount: 2 },
      async () => {},
    );
    expect([first.redelivered, again.redelivered]).toEqual([false, true]);
  });
});
