import { checkInteger, checkName, TransportError } from '@relaybus/core';
import { checkRedisSubject, runScript } from '@relaybus/redis';
import { trimScriptArgs } from './keys.js';
import { errorText } from './publisher.js';
import { flatMap, trimStream } from './retention.js';
import { Scripts } from './scripts.js';
import type { RedisStreamsTransport } from './transport.js';

/** One consumer group of a subject, summed over its partitions. */
export interface GroupInfo {
  readonly name: string;
  /** Consumers known to the group (on any partition). */
  readonly consumers: number;
  /** Entries delivered and not yet acknowledged. */
  readonly pending: number;
  /**
   * Entries not yet delivered to the group; `null` when Redis cannot tell (before 7.0, or after
   * entries were deleted in a way that makes the count unknown).
   */
  readonly lag: number | null;
}

/** One consumer of a group, summed over the subject's partitions. */
export interface ConsumerInfo {
  readonly name: string;
  /** Entries it holds unacknowledged. */
  readonly pending: number;
  /** Milliseconds since its last interaction (the smallest over partitions). */
  readonly idleMs: number;
}

/** Counts of one subject. */
export interface SubjectInfo {
  /** Entries in its stream(s), including requeued copies, until trimmed. */
  readonly length: number;
  /** Entries in its dead-letter stream(s). */
  readonly deadLetters: number;
  /** Messages parked for later (delayed publishes and delayed retries). */
  readonly delayed: number;
  readonly partitions: number;
  readonly groups: GroupInfo[];
}

/**
 * Read-mostly operations for operators (a CLI, a dashboard): groups, consumers, lag, pending and
 * dead-letter counts, replaying dead letters, trimming now. Uses the transport's connections.
 */
export class StreamsInspector {
  constructor(readonly transport: RedisStreamsTransport) {}

  /** Stream length, dead letters, delayed messages and groups of `subject`. */
  async subject(subject: string): Promise<SubjectInfo> {
    const client = this.transport.client();
    const keys = this.transport.streamKeys(checkRedisSubject(subject));
    return this.#wrap(`inspecting "${subject}"`, async () => {
      const [lengths, dead, delayed, groups] = await Promise.all([
        Promise.all(keys.map((key) => client.xlen(key.stream))),
        Promise.all(keys.map((key) => client.xlen(key.deadLetters))),
        Promise.all(keys.map((key) => client.zcard(key.delayed))),
        this.groups(subject),
      ]);
      return {
        length: sum(lengths),
        deadLetters: sum(dead),
        delayed: sum(delayed),
        partitions: keys.length,
        groups,
      };
    });
  }

  /** The consumer groups of `subject`, with pending counts and lag summed over partitions. */
  async groups(subject: string): Promise<GroupInfo[]> {
    const client = this.transport.client();
    const keys = this.transport.streamKeys(checkRedisSubject(subject));
    return this.#wrap(`reading the groups of "${subject}"`, async () => {
      const byName = new Map<string, { consumers: Set<string>; pending: number; lag: number | null }>();
      for (const key of keys) {
        let groups: unknown[];
        try {
          groups = (await client.xinfo('GROUPS', key.stream)) as unknown[];
        } catch (error) {
          if (error instanceof Error && /no such key/i.test(error.message)) continue;
          throw error;
        }
        for (const raw of groups) {
          const info = flatMap(raw);
          const name = String(info.get('name'));
          const entry = byName.get(name) ?? { consumers: new Set<string>(), pending: 0, lag: 0 };
          entry.pending += Number(info.get('pending') ?? 0);
          const lag = info.get('lag');
          entry.lag =
            entry.lag === null || lag === null || lag === undefined ? null : entry.lag + Number(lag);
          const consumers = (await client.xinfo('CONSUMERS', key.stream, name)) as unknown[];
          for (const consumer of consumers) entry.consumers.add(String(flatMap(consumer).get('name')));
          byName.set(name, entry);
        }
      }
      return [...byName].map(([name, entry]) => ({
        name,
        consumers: entry.consumers.size,
        pending: entry.pending,
        lag: entry.lag,
      }));
    });
  }

  /** The consumers of `group` on `subject`, with what each holds pending. */
  async consumers(subject: string, group: string): Promise<ConsumerInfo[]> {
    const client = this.transport.client();
    const keys = this.transport.streamKeys(checkRedisSubject(subject));
    checkName('group', group);
    return this.#wrap(`reading the consumers of "${subject}"`, async () => {
      const byName = new Map<string, { pending: number; idleMs: number }>();
      for (const key of keys) {
        let consumers: unknown[];
        try {
          consumers = (await client.xinfo('CONSUMERS', key.stream, group)) as unknown[];
        } catch (error) {
          if (error instanceof Error && /no such key|NOGROUP/i.test(error.message)) continue;
          throw error;
        }
        for (const raw of consumers) {
          const info = flatMap(raw);
          const name = String(info.get('name'));
          const entry = byName.get(name) ?? { pending: 0, idleMs: Number.MAX_SAFE_INTEGER };
          entry.pending += Number(info.get('pending') ?? 0);
          entry.idleMs = Math.min(entry.idleMs, Number(info.get('idle') ?? 0));
          byName.set(name, entry);
        }
      }
      return [...byName].map(([name, entry]) => ({ name, ...entry }));
    });
  }

  /** Entries of `group` delivered and not yet acknowledged. */
  async pending(subject: string, group: string): Promise<number> {
    const groups = await this.groups(subject);
    return groups.find((info) => info.name === group)?.pending ?? 0;
  }

  /** Number of dead letters of `subject`. */
  async deadLetterCount(subject: string): Promise<number> {
    return (await this.subject(subject)).deadLetters;
  }

  /**
   * Moves up to `limit` (default 100) dead letters, oldest first, back onto the subject as new
   * messages (delivery count reset, dead-letter headers removed), each atomically with its removal
   * from the dead-letter stream. Resolves with how many were moved.
   */
  async replayDeadLetters(subject: string, options: { limit?: number } = {}): Promise<number> {
    const limit = checkInteger('limit', options.limit ?? 100, 1, 1_000_000);
    const client = this.transport.client();
    const settings = this.transport.subjectSettings(checkRedisSubject(subject));
    const keys = this.transport.streamKeys(subject);
    return this.#wrap(`replaying dead letters of "${subject}"`, async () => {
      let moved = 0;
      for (const key of keys) {
        if (moved >= limit) break;
        const [strategy, threshold] = trimScriptArgs(settings, Date.now());
        moved += Number(
          await runScript(
            client,
            Scripts.replay,
            [key.deadLetters, key.stream],
            [limit - moved, strategy, threshold],
          ),
        );
      }
      return moved;
    });
  }

  /** Runs the retention janitor on `subject` now; resolves with the number of entries removed. */
  async trim(subject: string): Promise<number> {
    const client = this.transport.client();
    const settings = this.transport.subjectSettings(checkRedisSubject(subject));
    const keys = this.transport.streamKeys(subject);
    return this.#wrap(`trimming "${subject}"`, async () => {
      let removed = 0;
      for (const key of keys) removed += await trimStream(client, key.stream, settings, Date.now());
      return removed;
    });
  }

  async #wrap<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new TransportError(`${what} failed: ${errorText(error)}`, { cause: error });
    }
  }
}

function sum(values: ReadonlyArray<number | string>): number {
  let total = 0;
  for (const value of values) total += Number(value);
  return total;
}
