import type { RawDelivery, Subscription } from '@relaybus/core';
import { describe, expect, it } from 'vitest';
import { MemoryStore, MemoryTransport } from '../src/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (delivery: RawDelivery) => new TextDecoder().decode(delivery.payload);
const subject = () => `mem-${Math.random().toString(36).slice(2)}`;

async function next(subscription: Subscription): Promise<RawDelivery> {
  const result = await subscription[Symbol.asyncIterator]().next();
  if (result.done) throw new Error('subscription ended');
  return result.value;
}

describe('MemoryTransport specifics', () => {
  it('rejects unknown and out-of-range options, naming them', () => {
    expect(() => new MemoryTransport({ prefetc: 1 } as never)).toThrow(/"MemoryTransport.prefetc"/);
    expect(() => new MemoryTransport({ redeliveryIdleMs: -5 })).toThrow(/"redeliveryIdleMs"/);
    expect(() => new MemoryTransport({ prefetch: 0 })).toThrow(/"prefetch"/);
  });

  it('shares subjects and groups between transports on one store, like clients of one server', async () => {
    const store = new MemoryStore();
    const a = new MemoryTransport({ store });
    const b = new MemoryTransport({ store });
    const s = subject();
    const subscription = await b.subscribe(s, { group: 'g' });
    await a.publisher().publish(s, { payload: bytes('across') });
    expect(text(await next(subscription))).toBe('across');
    await a.close();
    await b.close();
    store.clear();
  });

  it('returns deliveries a closed subscription held unsettled only after redeliveryIdleMs', async () => {
    const transport = new MemoryTransport({ redeliveryIdleMs: 150 });
    const s = subject();
    const first = await transport.subscribe(s, { group: 'g' });
    await transport.publisher().publish(s, { payload: bytes('job') });
    const held = await next(first);
    await first.close();
    const second = await transport.subscribe(s, { group: 'g' });
    const closedAt = Date.now();
    const again = await next(second);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(140);
    expect(again.id).toBe(held.id);
    expect(again.deliveryCount).toBe(2);
    await again.ack();
    await transport.close();
  });

  it('counts a late ack from a closed subscription, so the message does not come back', async () => {
    const transport = new MemoryTransport({ redeliveryIdleMs: 100 });
    const s = subject();
    const first = await transport.subscribe(s, { group: 'g' });
    await transport.publisher().publish(s, { payload: bytes('one') });
    await transport.publisher().publish(s, { payload: bytes('two') });
    const held = await next(first);
    await first.close();
    await held.ack();
    const second = await transport.subscribe(s, { group: 'g' });
    const delivered = await next(second);
    expect(text(delivered)).toBe('two');
    await transport.close();
  });

  it('starts a new group from the retained history with startFrom beginning, bounded by historyLimit', async () => {
    const transport = new MemoryTransport({ historyLimit: 3 });
    const s = subject();
    for (const n of [1, 2, 3, 4, 5]) await transport.publisher().publish(s, { payload: bytes(String(n)) });
    const subscription = await transport.subscribe(s, { group: 'late', startFrom: 'beginning' });
    const seen = [
      text(await next(subscription)),
      text(await next(subscription)),
      text(await next(subscription)),
    ];
    expect(seen).toEqual(['3', '4', '5']);
    expect((await transport.history(s)).map((m) => new TextDecoder().decode(m.payload))).toEqual([
      '5',
      '4',
      '3',
    ]);
    await transport.close();
  });

  it('copies the payload at publish, so later changes to the caller buffer do not leak', async () => {
    const transport = new MemoryTransport();
    const s = subject();
    const subscription = await transport.subscribe(s);
    const buffer = bytes('abc');
    await transport.publisher().publish(s, { payload: buffer });
    buffer[0] = 0x7a;
    expect(text(await next(subscription))).toBe('abc');
    await transport.close();
  });

  it('holds back the next message of a key until the previous one is settled', async () => {
    const transport = new MemoryTransport();
    const s = subject();
    const a = await transport.subscribe(s, { group: 'g', consumer: 'a' });
    const b = await transport.subscribe(s, { group: 'g', consumer: 'b' });
    await transport.publisher().publishMany(s, [
      { payload: bytes('k1'), key: 'k' },
      { payload: bytes('k2'), key: 'k' },
    ]);
    const first = await next(a);
    expect(text(first)).toBe('k1');
    let secondArrived = false;
    const secondPromise = Promise.race([next(a), next(b)]).then((d) => {
      secondArrived = true;
      return d;
    });
    // Proving a negative: nothing of key k may arrive while k1 is unsettled.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(secondArrived).toBe(false);
    await first.ack();
    expect(text(await secondPromise)).toBe('k2');
    await transport.close();
  });
});

describe('MemoryTransport stale settlement', () => {
  it('rejects an ack from a closed consumer once the message was handed to another one', async () => {
    const transport = new MemoryTransport({ redeliveryIdleMs: 50 });
    const s = subject();
    const first = await transport.subscribe(s, { group: 'g' });
    await transport.publisher().publish(s, { payload: bytes('job') });
    const stale = await next(first);
    await first.close();
    const second = await transport.subscribe(s, { group: 'g' });
    const fresh = await next(second);
    expect(fresh.deliveryCount).toBe(2);
    await expect(stale.ack()).rejects.toMatchObject({ code: 'RELAYBUS_TRANSPORT' });
    await fresh.nack({ requeue: true });
    const third = await next(second);
    expect(third.deliveryCount).toBe(3);
    await third.ack();
    await transport.close();
  });
});
