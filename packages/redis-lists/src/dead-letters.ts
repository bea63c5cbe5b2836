import { createHash } from 'node:crypto';
import { Header, type StoredMessage } from '@relaybus/core';
import type { RedisClient } from '@relaybus/redis';
import { bytesOf, decodeEntry, type Entry, encodeEntry } from './entry.js';

/**
 * The dead letter of `entry`: the same entry format (so a dead letter can be pushed back onto the
 * queue as is), with the reason, original subject, original id and delivery count as headers.
 */
export function deadLetterEntry(
  entry: Entry,
  subject: string,
  reason: string,
  deliveryCount: number,
): Buffer {
  return encodeEntry({
    id: entry.id,
    payload: entry.payload,
    deliveriesBefore: deliveryCount,
    headers: {
      ...entry.headers,
      [Header.deadLetterReason]: reason,
      [Header.originalSubject]: subject,
      [Header.originalId]: entry.id,
      [Header.deliveryCount]: String(deliveryCount),
    },
  });
}

/** A stable id for a value that carries none (pushed by another client): `raw-<sha1 prefix>`. */
export function rawId(value: Uint8Array): string {
  return `raw-${createHash('sha1').update(value).digest('hex').slice(0, 16)}`;
}

/**
 * Reads the newest `limit` dead letters of `subject` (LRANGE of the dead-letter list, newest
 * first). A value that is not an entry comes back as a message with a `raw-` id and no headers.
 */
export async function readDeadLetters(
  client: RedisClient,
  key: string,
  subject: string,
  limit: number,
): Promise<StoredMessage[]> {
  const values = await client.lrangeBuffer(key, 0, limit - 1);
  return values.map((value): StoredMessage => {
    const decoded = decodeEntry(value);
    if (decoded.kind === 'entry') {
      const { id, headers, payload } = decoded.entry;
      return { id, subject, headers, payload };
    }
    return { id: rawId(value), subject, headers: {}, payload: bytesOf(value) };
  });
}
