import { type Broker, newMessageId } from '@relaybus/core';

/** A publish that was refused, as the caller saw it. */
export interface PublishFailure {
  readonly id: string;
  readonly error: unknown;
  /** Ms since the load started. */
  readonly atMs: number;
}

const TICK_MS = 10;
const MAX_IN_FLIGHT = 256;

/**
 * Publishes `{ n, sentAt }` bodies to one subject at a steady rate until stopped, keeping the ids
 * whose publish resolved (`acknowledged`) and the refused ones with their error (`failures`).
 * At most 256 publishes are in flight; ticks that find them all busy skip (the rate then drops).
 */
export class SteadyPublisher {
  readonly acknowledged: string[] = [];
  readonly failures: PublishFailure[] = [];
  /** Publish → resolve latencies (ms) of the acknowledged publishes. */
  readonly publishLatenciesMs: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  #sent = 0;
  #startedAt = 0;

  constructor(
    private readonly broker: Broker,
    private readonly subject: string,
    private readonly ratePerSecond: number,
  ) {}

  /** Publishes attempted so far. */
  get attempted(): number {
    return this.#sent;
  }

  start(): void {
    this.#startedAt = Date.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Stops publishing and waits for the publishes in flight to settle. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Publishes every refused message again with its original id, as a caller retrying would;
   * returns how many were accepted this time (they join `acknowledged`).
   */
  async retryFailures(): Promise<number> {
    const failed = this.failures.splice(0);
    let accepted = 0;
    for (const failure of failed) {
      try {
        await this.broker.publish(this.subject, { n: -1, sentAt: Date.now() }, { id: failure.id });
        this.acknowledged.push(failure.id);
        accepted++;
      } catch (error) {
        this.failures.push({ id: failure.id, error, atMs: Date.now() - this.#startedAt });
      }
    }
    return accepted;
  }

  #tick(): void {
    const due = Math.floor(((Date.now() - this.#startedAt) * this.ratePerSecond) / 1_000);
    while (this.#sent < due && this.#inFlight.size < MAX_IN_FLIGHT) {
      this.#sent++;
      const id = newMessageId();
      const sentAt = Date.now();
      const work: Promise<void> = this.broker.publish(this.subject, { n: this.#sent, sentAt }, { id }).then(
        () => {
          this.acknowledged.push(id);
          this.publishLatenciesMs.push(Date.now() - sentAt);
        },
        (error: unknown) => {
          this.failures.push({ id, error, atMs: Date.now() - this.#startedAt });
        },
      );
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    }
    // Skipped ticks (all in flight) are not made up later: the rate is a ceiling.
    if (this.#inFlight.size >= MAX_IN_FLIGHT) this.#sent = Math.max(this.#sent, due);
  }
}
