import type { KeySpace } from '@relaybus/redis';
import type { ResolvedSubjectOptions } from './options.js';

/** The keys of one stream of a subject (the subject's only stream, or one partition). */
export interface StreamKeys {
  /** Partition index (0 for an unpartitioned subject). */
  readonly partition: number;
  /** `relaybus:{orders}` or `relaybus:{orders:p3}`. */
  readonly stream: string;
  /** Dead letters of this stream, same slot: `<stream>:dlq`. */
  readonly deadLetters: string;
  /** Delayed copies, same slot: `<stream>:delayed` (sorted set, score = due ms). */
  readonly delayed: string;
}

/** Side key of a stream, in the stream's slot (its hash tag comes first). */
export function sideKey(stream: string, suffix: string): string {
  return `${stream}:${suffix}`;
}

/** The stream keys of `subject`: one, or one per partition. */
export function streamKeys(keys: KeySpace, subject: string, settings: ResolvedSubjectOptions): StreamKeys[] {
  const result: StreamKeys[] = [];
  for (let partition = 0; partition < settings.partitions; partition++) {
    const stream = settings.partitions === 1 ? keys.stream(subject) : keys.partition(subject, partition);
    result.push({
      partition,
      stream,
      deadLetters: sideKey(stream, 'dlq'),
      delayed: sideKey(stream, 'delayed'),
    });
  }
  return result;
}

/** Trim arguments of XADD for a stream with these settings (`[]` when nothing trims on publish). */
export function trimArgs(settings: ResolvedSubjectOptions, nowMs: number): [string, string] | [] {
  // Safe mode leaves trimming to the janitor, which checks every group first.
  if (settings.safe) return [];
  // XADD takes one strategy: the count bound wins (it bounds memory); the janitor applies both.
  if (settings.maxLen !== undefined) return ['MAXLEN', String(settings.maxLen)];
  if (settings.maxAgeMs !== undefined) return ['MINID', `${Math.max(0, nowMs - settings.maxAgeMs)}-0`];
  return [];
}

/** `trimArgs` as the two script arguments (strategy, threshold); `''` strategy means none. */
export function trimScriptArgs(settings: ResolvedSubjectOptions, nowMs: number): [string, string] {
  const args = trimArgs(settings, nowMs);
  return args.length === 0 ? ['', '0'] : args;
}
