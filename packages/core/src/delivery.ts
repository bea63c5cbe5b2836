import type { NackOptions, RawDelivery, Settlement } from './contract.js';
import { AlreadySettledError, ConfigError } from './errors.js';
import type { Headers } from './headers.js';

/** The fields of a delivery that a transport fills in. */
export interface DeliveryInit {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Headers;
  readonly deliveryCount: number;
}

/**
 * Carries out a settlement on the transport; resolves once it is recorded. `token` is what the
 * delivery was built with: one function can then serve every delivery of a subscription, with no
 * closure per delivery.
 */
export type SettleFn = (settlement: Settlement, token: unknown) => Promise<void>;

/**
 * Turns `nack` options into a settlement, rejecting impossible combinations with a `ConfigError`
 * naming the option.
 */
export function settlementFromNack(options: NackOptions | undefined): Settlement {
  const requeue = options?.requeue ?? true;
  if (typeof requeue !== 'boolean')
    throw new ConfigError('requeue', `must be a boolean, got ${String(requeue)}`);
  if (requeue) {
    const delayMs = options?.delayMs ?? 0;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new ConfigError('delayMs', `must be a finite number >= 0, got ${String(delayMs)}`);
    }
    return { kind: 'requeue', delayMs: Math.floor(delayMs) };
  }
  if (options?.delayMs !== undefined) {
    throw new ConfigError('delayMs', 'only applies with requeue: true');
  }
  return { kind: 'dead-letter', reason: options?.reason ?? 'rejected' };
}

const ACK: Settlement = Object.freeze({ kind: 'ack' });

/**
 * A delivery whose settlement is guarded: the first `ack`/`nack` is passed to the transport, a
 * second one rejects with `AlreadySettledError`. If the transport fails to record a settlement,
 * the delivery counts as unsettled again, so the caller may retry.
 *
 * Transports build their deliveries with this class (or `createDelivery`) so that every transport
 * shares the same settlement rules.
 */
export class GuardedDelivery implements RawDelivery {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Headers;
  readonly deliveryCount: number;
  #settledAs: Settlement['kind'] | undefined;
  readonly #settle: SettleFn;
  readonly #token: unknown;

  /** `settle` carries out the first `ack`/`nack`, called with `token` (the transport's own state of this delivery). */
  constructor(init: DeliveryInit, settle: SettleFn, token?: unknown) {
    this.id = init.id;
    this.subject = init.subject;
    this.payload = init.payload;
    this.headers = init.headers;
    this.deliveryCount = init.deliveryCount;
    this.#settle = settle;
    this.#token = token;
  }

  get redelivered(): boolean {
    return this.deliveryCount > 1;
  }

  get settled(): boolean {
    return this.#settledAs !== undefined;
  }

  ack(): Promise<void> {
    return this.#apply(ACK);
  }

  nack(options?: NackOptions): Promise<void> {
    let settlement: Settlement;
    try {
      settlement = settlementFromNack(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#apply(settlement);
  }

  #apply(settlement: Settlement): Promise<void> {
    if (this.#settledAs !== undefined) {
      return Promise.reject(new AlreadySettledError(this.id, this.#settledAs));
    }
    this.#settledAs = settlement.kind;
    let settling: Promise<void>;
    try {
      settling = this.#settle(settlement, this.#token);
    } catch (error) {
      settling = Promise.reject(error);
    }
    // Not an async function: an ack is on every message's path, and this adds one promise, not three.
    return settling.then(undefined, (error: unknown) => {
      this.#settledAs = undefined;
      throw error;
    });
  }
}

/** Builds a guarded delivery (see `GuardedDelivery`). */
export function createDelivery(init: DeliveryInit, settle: SettleFn, token?: unknown): RawDelivery {
  return new GuardedDelivery(init, settle, token);
}
