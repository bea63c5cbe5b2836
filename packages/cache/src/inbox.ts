import type { ChannelListener } from './notifier.js';

/** What a waiter hears on a key's channel. */
export type InboxEvent =
  | { readonly kind: 'value'; readonly payload: Buffer }
  | { readonly kind: 'released' }
  | { readonly kind: 'resync' }
  | { readonly kind: 'closed' };

/** The first byte of a message: `v` + encoded value after a write, `r` when a lock was given back. */
const VALUE_TAG = 0x76;
const RELEASED_TAG = 0x72;

/**
 * One waiter's queue of channel events. `next()` may be abandoned (a deadline passed) and called
 * again: the pending promise is handed out again, so no event is lost between the two.
 */
export class Inbox implements ChannelListener {
  readonly #events: InboxEvent[] = [];
  #pending: Promise<InboxEvent> | undefined;
  #wake: ((event: InboxEvent) => void) | undefined;

  message(payload: Buffer): void {
    if (payload[0] === VALUE_TAG) this.#push({ kind: 'value', payload: payload.subarray(1) });
    else if (payload[0] === RELEASED_TAG) this.#push({ kind: 'released' });
  }

  resync(): void {
    this.#push({ kind: 'resync' });
  }

  closed(): void {
    this.#push({ kind: 'closed' });
  }

  /** The next event: at once when one is queued, else when it comes. */
  next(): Promise<InboxEvent> {
    const queued = this.#events.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    this.#pending ??= new Promise<InboxEvent>((resolve) => {
      this.#wake = resolve;
    });
    return this.#pending;
  }

  #push(event: InboxEvent): void {
    const wake = this.#wake;
    if (wake === undefined) {
      this.#events.push(event);
      return;
    }
    this.#wake = undefined;
    this.#pending = undefined;
    wake(event);
  }
}
