import type { Logger } from '@relaybus/core';
import type { RedisClient, RedisConnector } from '@relaybus/redis';
import { Cluster } from 'iovalkey';

const INTERRUPT_ATTEMPTS = 20;
const INTERRUPT_WAIT_MS = 50;

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * The dedicated connection a fetch loop blocks on (BLMOVE / BRPOP). It can be interrupted without
 * losing a reply: on a standalone or Sentinel server, `CLIENT UNBLOCK` (sent from another
 * connection) makes the blocked command return as if it timed out, so whatever it took arrives
 * intact; only if that does not end the loop (a Cluster, whose node connection we do not address,
 * or an unknown connection id) is the connection dropped, and a reply in flight then is lost to
 * this consumer (reliable mode finds such entries in its processing list; simple mode loses them).
 */
export class BlockingClient {
  readonly client: RedisClient;
  #connectionId: number | undefined;
  #ready = false;

  /** `onReconnect` runs when the connection is ready again after it was lost. */
  constructor(connector: RedisConnector, onReconnect: () => void, logger: Logger) {
    this.client = connector.duplicateFor('lists-fetch');
    const client = this.client;
    client.on('ready', () => {
      if (this.#ready) onReconnect();
      this.#ready = true;
      if (client instanceof Cluster) return;
      // Sent from the 'ready' event, so it goes before any command iovalkey re-sends or flushes.
      client.client('ID').then(
        (id) => {
          this.#connectionId = Number(id);
        },
        (error: unknown) =>
          logger.debug({ err: error }, 'CLIENT ID failed; close() will drop the connection'),
      );
    });
    client.on('close', () => {
      this.#connectionId = undefined;
    });
  }

  /**
   * Ends a fetch loop blocked on this connection: tells the loop to stop (the caller set its
   * closed flag first), unblocks it, waits for `loop` to finish, then closes the connection.
   */
  async interrupt(loop: Promise<void> | undefined, shared: RedisClient): Promise<void> {
    const done = loop?.catch(() => undefined) ?? Promise.resolve();
    for (let attempt = 0; attempt < INTERRUPT_ATTEMPTS; attempt++) {
      const id = this.#connectionId;
      if (id === undefined) break;
      await shared.client('UNBLOCK', id).catch(() => undefined);
      if (await settlesWithin(done, INTERRUPT_WAIT_MS)) break;
    }
    this.client.disconnect();
    await done;
  }
}
