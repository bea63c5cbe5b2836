import type { RawDelivery, Subscription } from '@relaybus/core';

/** What a consumer does with each delivery; the loop awaits it before pulling the next one. */
export type DeliveryHandler = (delivery: RawDelivery) => unknown;

/** One delivery as a consumer saw it, with the time it arrived (`performance.now()`). */
export interface Received {
  readonly delivery: RawDelivery;
  readonly at: number;
}

/** Acks every delivery. */
export const ackAll: DeliveryHandler = (delivery) => delivery.ack();

/** Settles nothing: every delivery stays held by the consumer. */
export const holdAll: DeliveryHandler = () => undefined;

/**
 * Iterates a subscription in the background and records every delivery. A handler that throws (or
 * an iteration that fails) ends the loop and is reported through `onFailure`.
 */
export class Consumer {
  readonly received: Received[] = [];
  /** Resolves once the `for await` loop ended (normally or not). */
  readonly done: Promise<void>;
  readonly #byId = new Map<string, RawDelivery[]>();
  #ended = false;
  #failure: unknown;

  constructor(
    readonly subscription: Subscription,
    handler: DeliveryHandler,
    onFailure: (error: unknown) => void,
  ) {
    this.done = this.#run(handler, onFailure);
  }

  /** True once the `for await` loop ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The error that ended the loop, if one did. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Deliveries received so far. */
  get count(): number {
    return this.received.length;
  }

  /** True once a delivery with this id arrived. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Every delivery of this id, in arrival order. */
  deliveriesOf(id: string): RawDelivery[] {
    return this.#byId.get(id) ?? [];
  }

  /** The distinct ids received. */
  ids(): Set<string> {
    return new Set(this.#byId.keys());
  }

  /** Ids received more than once. */
  duplicates(): string[] {
    return [...this.#byId].filter(([, list]) => list.length > 1).map(([id]) => id);
  }

  /** The arrival time of the `n`-th (0-based) delivery of `id`. */
  arrivalOf(id: string, n = 0): number | undefined {
    let seen = 0;
    for (const item of this.received) {
      if (item.delivery.id === id && seen++ === n) return item.at;
    }
    return undefined;
  }

  async #run(handler: DeliveryHandler, onFailure: (error: unknown) => void): Promise<void> {
    try {
      for await (const delivery of this.subscription) {
        this.received.push({ delivery, at: performance.now() });
        const list = this.#byId.get(delivery.id);
        if (list === undefined) this.#byId.set(delivery.id, [delivery]);
        else list.push(delivery);
        await handler(delivery);
      }
    } catch (error) {
      this.#failure = error;
      onFailure(error);
    } finally {
      this.#ended = true;
    }
  }
}
