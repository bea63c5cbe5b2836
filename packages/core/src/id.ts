import { randomBytes } from 'node:crypto';

let lastMs = -1;
let sequence = 0;
/** `<ms in base36, 9 chars>-` of `lastMs`, made once per millisecond. */
let prefix = '';
const suffix = `-${randomBytes(4).toString('hex')}`;
/** The sequence part for the first 4096 ids of a millisecond, made once. */
const SEQUENCES: readonly string[] = Array.from({ length: 4096 }, (_, n) => n.toString(36).padStart(4, '0'));

/**
 * A new message id: unique across processes and sortable by creation time within one process
 * (`<ms in base36, 9 chars>-<sequence>-<random>`).
 */
export function newMessageId(): string {
  const now = Date.now();
  if (now === lastMs) {
    sequence++;
  } else {
    lastMs = now;
    sequence = 0;
    prefix = `${now.toString(36).padStart(9, '0')}-`;
  }
  const part =
    sequence < SEQUENCES.length ? (SEQUENCES[sequence] as string) : sequence.toString(36).padStart(4, '0');
  return prefix + part + suffix;
}

/** A consumer name unique to this process and call: `<host-ish>-<pid>-<random>`. */
export function newConsumerName(): string {
  return `c-${process.pid}-${randomBytes(4).toString('hex')}`;
}
