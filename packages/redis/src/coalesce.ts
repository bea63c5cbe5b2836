import { Redis } from 'iovalkey';
import type { RedisClient } from './client.js';

/** A Redis command argument. */
export type CommandArgument = string | Buffer | number;

interface Queued {
  readonly args: CommandArgument[];
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

interface Lane {
  readonly target: RedisClient;
  readonly queued: Queued[];
}

/**
 * Sends commands issued in the same tick of the event loop together: one pipeline per target and
 * lane (a socket write for all of them instead of one per command), or the plain command when only
 * one was issued. Every promise resolves with its own command's reply, or rejects with its own
 * error, once Redis answered it.
 *
 * A lane must stay within one Cluster slot (a stream key, a channel) so its pipeline is valid on a
 * Cluster too. Commands are sent in the order they were issued, within a lane.
 */
export class CommandCoalescer {
  readonly #command: string;
  #lanes = new Map<string, Lane>();
  #scheduled = false;

  /** `command`: the lower-case command every call sends (`xadd`, `publish`, `spublish`). */
  constructor(command: string) {
    this.#command = command.toLowerCase();
  }

  /** Queues `command …args` for `target` on `lane`; resolves with its reply. */
  send(target: RedisClient, lane: string, args: CommandArgument[]): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      let queue = this.#lanes.get(lane);
      if (queue === undefined || queue.target !== target) {
        if (queue !== undefined) this.#flushLane(queue);
        queue = { target, queued: [] };
        this.#lanes.set(lane, queue);
      }
      queue.queued.push({ args, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After the promise callbacks of this tick ran, so publishes they make join the batch.
        process.nextTick(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const lanes = this.#lanes;
    this.#lanes = new Map();
    for (const lane of lanes.values()) this.#flushLane(lane);
  }

  #flushLane({ target, queued }: Lane): void {
    const command = this.#command;
    if (queued.length === 1) {
      const only = queued[0] as Queued;
      target.call(command, ...only.args).then(only.resolve, only.reject);
      return;
    }
    const socket = readySocketOf(target);
    if (socket !== undefined) {
      // One socket write for the lot without iovalkey's Pipeline: a Pipeline per tick costs a
      // dozen objects that tend to outlive a young-generation GC, and at a steady rate of small
      // batches that tripled GC pause time (see docs/performance.md). Corking the socket while
      // the commands are written gives the same single write.
      socket.cork();
      try {
        for (const item of queued) target.call(command, ...item.args).then(item.resolve, item.reject);
      } finally {
        socket.uncork();
      }
      return;
    }
    // A Cluster client (which routes each command itself) or one not connected yet: a pipeline.
    const pipeline = target.pipeline();
    for (const item of queued) pipeline.call(command, ...item.args);
    pipeline.exec().then(
      (replies) => {
        queued.forEach((item, i) => {
          const [error, reply] = replies?.[i] ?? [new Error('no reply in the pipeline'), undefined];
          if (error) item.reject(error);
          else item.resolve(reply);
        });
      },
      (error: unknown) => {
        for (const item of queued) item.reject(error);
      },
    );
  }
}

/** The socket of a standalone client that writes commands straight to it, or `undefined`. */
function readySocketOf(target: RedisClient): { cork(): void; uncork(): void } | undefined {
  return target instanceof Redis && target.status === 'ready' ? target.stream : undefined;
}
