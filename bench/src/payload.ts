import { encode } from '@msgpack/msgpack';

/** A realistic order event, about 200 bytes once msgpack-encoded. */
export interface OrderEvent {
  readonly orderId: string;
  readonly customerId: string;
  readonly status: string;
  readonly currency: string;
  readonly totalCents: number;
  readonly items: ReadonlyArray<{
    readonly sku: string;
    readonly quantity: number;
    readonly priceCents: number;
  }>;
  readonly shippingCountry: string;
  readonly createdAt: string;
  readonly sentAt?: number;
}

/** The body every scenario sends (the latency scenario adds `sentAt`). */
export const ORDER_EVENT: OrderEvent = {
  orderId: 'ord_01HZX4K9Q7M2T8V3B6N1C5D0EF',
  customerId: 'cus_8f3a2b1c9d7e6f50',
  status: 'paid',
  currency: 'EUR',
  totalCents: 12_990,
  items: [
    { sku: 'SKU-RED-TSHIRT-M', quantity: 2, priceCents: 2_495 },
    { sku: 'SKU-BLUE-JEANS-32', quantity: 1, priceCents: 5_999 },
    { sku: 'SKU-SOCKS-3PK', quantity: 1, priceCents: 1_001 },
  ],
  shippingCountry: 'DE',
  createdAt: '2026-11-23T10:15:30.123Z',
};

/** `ORDER_EVENT` encoded with msgpack once: for filling backlogs outside the clock. */
export const ORDER_EVENT_BYTES: Buffer = Buffer.from(encode(ORDER_EVENT));

/**
 * `ORDER_EVENT` encoded with msgpack now, as a hand-written producer encodes each message it
 * sends: the raw publish baselines call this per message, so both sides pay for encoding (the
 * raw consumers decode every payload for the same reason).
 */
export function encodeOrderEvent(): Buffer {
  const bytes = encode(ORDER_EVENT);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
