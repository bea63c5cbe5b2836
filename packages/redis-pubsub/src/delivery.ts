import {
  AlreadySettledError,
  type Headers,
  type NackOptions,
  type RawDelivery,
  type Settlement,
  settlementFromNack,
} from '@relaybus/core';

/** Told of a `nack` (Pub/Sub only logs it: there is nothing to requeue or dead-letter into). */
export type NackListener = (settlement: Settlement) => void;

const SETTLED: Promise<void> = Promise.resolve();

/**
 * A Pub/Sub delivery. Pub/Sub has no acknowledgement, so settling records nothing anywhere:
 * `ack()` and `nack()` resolve at once (one shared resolved promise, no async function or
 * settlement object per message), and only enforce what every relaybus delivery guarantees — the
 * first settlement wins, a second one rejects with `AlreadySettledError`, and `nack` options are
 * validated as on every transport (`settlementFromNack`). `deliveryCount` is always 1.
 */
export class PubSubDelivery implements RawDelivery {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Headers;
  #settledAs: Settlement['kind'] | undefined;
  readonly #onNack: NackListener;

  constructor(id: string, subject: string, payload: Uint8Array, headers: Headers, onNack: NackListener) {
    this.id = id;
    this.subject = subject;
    this.payload = payload;
    this.headers = headers;
    this.#onNack = onNack;
  }

  /** Always 1: Pub/Sub never delivers a message again. */
  get deliveryCount(): number {
    return 1;
  }

  get redelivered(): boolean {
    return false;
  }

  get settled(): boolean {
    return this.#settledAs !== undefined;
  }

  ack(): Promise<void> {
    if (this.#settledAs !== undefined) {
      return Promise.reject(new AlreadySettledError(this.id, this.#settledAs));
    }
    this.#settledAs = 'ack';
    return SETTLED;
  }

  nack(options?: NackOptions): Promise<void> {
    let settlement: Settlement;
    try {
      settlement = settlementFromNack(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#settledAs !== undefined) {
      return Promise.reject(new AlreadySettledError(this.id, this.#settledAs));
    }
    this.#settledAs = settlement.kind;
    this.#onNack(settlement);
    return SETTLED;
  }
}
