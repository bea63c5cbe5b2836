import { randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;
const processTag = randomBytes(4).toString('hex');

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
  }
  return `${now.toString(36).padStart(9, '0')}-${sequence.toString(36).padStart(4, '0')}-${processTag}`;
}

/** A consumer name unique to this process and call: `<host-ish>-<pid>-<random>`. */
export function newConsumerName(): string {
  return `c-${process.pid}-${randomBytes(4).toString('hex')}`;
}
