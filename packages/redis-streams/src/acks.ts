import { type Logger, TransportError } from '@relaybus/core';
import type { RedisClient } from '@relaybus/redis';
import { errorText } from './publisher.js';

/**
 * Told about each ack it passed once its XACK was answered. One listener object serves many acks
 * (each with its own token), so acking a message allocates no callback of its own.
 */
export interface AckListener<T> {
  acked(token: T): void;
  ackFailed(token: T, error: unknown): void;
}

interface Batch {
  readonly stream: string;
  readonly group: string;
  readonly ids: string[];
  /** Parallel to `ids` from the first ack with a listener on: who to tell, and with what. */
  listeners: Array<AckListener<unknown> | undefined> | undefined;
  tokens: unknown[] | undefined;
  /** One promise for every ack of the batch: settled when its XACK is answered. */
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Coalesces acks into batched XACKs: one `XACK stream group id…` per stream and group, sent when
 * `maxSize` acks wait or after `maxDelayMs` (0: on the next turn of the event loop), and while an
 * XACK is being answered, once it is (so a busy consumer sends few, large XACKs). Every `ack`
 * promise resolves once the XACK carrying it was answered, or rejects with a `TransportError`.
 */
export class AckBatcher {
  /**
   * Waiting batches, one per stream and group (a short list: a batcher serves one transport's
   * subscriptions). A fresh array per flush, and a count instead of a set of XACKs in flight:
   * a long-lived Map or Set that churns every few milliseconds made young objects outlive
   * young-generation collections (docs/performance.md).
   */
  #batches: Batch[] = [];
  /** The batch the last ack went to: consecutive acks of one consumer skip the lookups. */
  #last: Batch | undefined;
  #inFlight = 0;
  /** Woken when no XACK is in flight any more. */
  #drained: Array<() => void> = [];
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #pending = 0;

  constructor(
    readonly client: () => RedisClient,
    readonly maxSize: number,
    readonly maxDelayMs: number,
    readonly logger: Logger,
  ) {}

  /** Resolves once XACK of `id` was answered (acks of one batch share one promise). */
  ack(stream: string, group: string, id: string): Promise<void> {
    return this.ackFor(stream, group, id, undefined, undefined);
  }

  /**
   * `ack`, and tells `listener` (with `token`) once the XACK was answered or failed, before the
   * returned promise settles.
   */
  ackFor<T>(
    stream: string,
    group: string,
    id: string,
    listener: AckListener<T> | undefined,
    token: T,
  ): Promise<void> {
    const batch = this.#batchFor(stream, group);
    if (listener !== undefined) {
      if (batch.listeners === undefined) {
        batch.listeners = new Array(batch.ids.length);
        batch.tokens = new Array(batch.ids.length);
      }
      batch.listeners.push(listener as AckListener<unknown>);
      batch.tokens?.push(token);
    } else if (batch.listeners !== undefined) {
      batch.listeners.push(undefined);
      batch.tokens?.push(undefined);
    }
    batch.ids.push(id);
    this.#pending++;
    const { done } = batch;
    if (this.#pending >= this.maxSize) this.#flushNow();
    else this.#schedule();
    return done;
  }

  /** Sends whatever waits and resolves once every XACK sent so far was answered. */
  async flush(): Promise<void> {
    this.#flushNow();
    while (this.#inFlight > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
  }

  #batchFor(stream: string, group: string): Batch {
    const last = this.#last;
    if (last !== undefined && last.stream === stream && last.group === group) return last;
    let batch: Batch | undefined;
    for (const waiting of this.#batches) {
      if (waiting.stream === stream && waiting.group === group) {
        batch = waiting;
        break;
      }
    }
    if (batch === undefined) {
      let resolve: () => void = () => {};
      let reject: (error: unknown) => void = () => {};
      const done = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      batch = { stream, group, ids: [], listeners: undefined, tokens: undefined, done, resolve, reject };
      this.#batches.push(batch);
    }
    this.#last = batch;
    return batch;
  }

  #schedule(): void {
    // While an XACK is on its way, acks gather until it is answered (or `maxSize` of them wait):
    // under load batches grow by themselves, and an idle consumer still acks on the next turn.
    if (this.#timer !== undefined || this.#inFlight > 0) return;
    this.#timer =
      this.maxDelayMs === 0
        ? setImmediate(() => this.#flushNow())
        : setTimeout(() => this.#flushNow(), this.maxDelayMs);
  }

  #flushNow(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    if (this.#pending === 0) return;
    const batches = this.#batches;
    this.#batches = [];
    this.#last = undefined;
    this.#pending = 0;
    let client: RedisClient;
    try {
      client = this.client();
    } catch (error) {
      for (const batch of batches) settleBatch(batch, asAckError(batch, error));
      return;
    }
    for (const batch of batches) {
      this.#inFlight++;
      client.xack(batch.stream, batch.group, ...batch.ids).then(
        () => this.#answered(batch, undefined),
        (error: unknown) => {
          this.logger.warn({ err: error, stream: batch.stream, count: batch.ids.length }, 'XACK failed');
          this.#answered(batch, asAckError(batch, error));
        },
      );
    }
  }

  #answered(batch: Batch, error: TransportError | undefined): void {
    this.#inFlight--;
    try {
      settleBatch(batch, error);
    } finally {
      this.#afterAnswer();
    }
  }

  #afterAnswer(): void {
    if (this.#inFlight > 0) return;
    if (this.#pending > 0) this.#schedule();
    if (this.#drained.length > 0) {
      const drained = this.#drained;
      this.#drained = [];
      for (const wake of drained) wake();
    }
  }
}

function asAckError(batch: Batch, error: unknown): TransportError {
  return new TransportError(
    `XACK of ${batch.ids.length} entries of ${batch.stream} failed: ${errorText(error)}`,
    {
      cause: error,
    },
  );
}

/** Tells the batch's listeners, then settles its shared promise. */
function settleBatch(batch: Batch, error: TransportError | undefined): void {
  const { listeners, tokens } = batch;
  if (listeners !== undefined && tokens !== undefined) {
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i];
      if (listener === undefined) continue;
      if (error === undefined) listener.acked(tokens[i]);
      else listener.ackFailed(tokens[i], error);
    }
  }
  if (error === undefined) batch.resolve();
  else batch.reject(error);
}
