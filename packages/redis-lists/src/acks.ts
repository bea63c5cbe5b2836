import { type RedisClient, runScript } from '@relaybus/redis';
import { SCRIPTS } from './scripts.js';

interface PendingAck {
  readonly value: Buffer;
  readonly resolve: (removed: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** Most acks sent in one script call. */
const MAX_BATCH = 512;

/**
 * Coalesces the acks of one processing list. An ack asked for while none is on its way to Redis
 * goes at once (one LREM); acks asked for meanwhile wait for that reply and then go together as one
 * script call (an LREM per entry). A lone ack never waits, and concurrent handlers cost one round
 * trip per batch rather than one each.
 */
export class AckBatcher {
  readonly #processing: string;
  readonly #client: () => RedisClient;
  #pending: PendingAck[] = [];
  #inFlight = false;

  constructor(processing: string, client: () => RedisClient) {
    this.#processing = processing;
    this.#client = client;
  }

  /** Resolves true once the entry was removed, false when it was not in the processing list. */
  ack(value: Buffer): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ value, resolve, reject });
      if (!this.#inFlight) this.#flush();
    });
  }

  #flush(): void {
    const batch = this.#pending.length > MAX_BATCH ? this.#pending.splice(0, MAX_BATCH) : this.#pending;
    if (batch === this.#pending) this.#pending = [];
    if (batch.length === 0) return;
    this.#inFlight = true;
    this.#send(batch)
      .then(
        (flags) => {
          for (const [index, item] of batch.entries()) item.resolve(flags[index] === 1);
        },
        (error: unknown) => {
          for (const item of batch) item.reject(error);
        },
      )
      .finally(() => {
        this.#inFlight = false;
        this.#flush();
      });
  }

  async #send(batch: PendingAck[]): Promise<number[]> {
    const client = this.#client();
    if (batch.length === 1) return [await client.lrem(this.#processing, -1, (batch[0] as PendingAck).value)];
    return (await runScript(
      client,
      SCRIPTS.ack,
      [this.#processing],
      batch.map((item) => item.value),
    )) as number[];
  }
}
