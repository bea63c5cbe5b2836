import { describe, expect, it } from 'vitest';
import { ThrottledWarning } from '../src/throttled-warning.js';
import { RecordingLogger } from './helpers.js';

describe('throttled warning', () => {
  it('logs the first occurrence, folds the next ones into a count, and flushes the rest', () => {
    const logger = new RecordingLogger();
    const warning = new ThrottledWarning(logger, 'dropped', 60_000);
    for (let i = 0; i < 100; i++) warning.note({ subject: 's' });
    expect(logger.find('warn', 'dropped').map((line) => line.fields.count)).toEqual([1]);
    warning.flush();
    expect(logger.find('warn', 'dropped').map((line) => line.fields.count)).toEqual([1, 99]);
    warning.flush();
    expect(logger.find('warn', 'dropped')).toHaveLength(2);
  });

  it('logs every occurrence with an interval of 0', () => {
    const logger = new RecordingLogger();
    const warning = new ThrottledWarning(logger, 'dropped', 0);
    for (let i = 0; i < 3; i++) warning.note();
    expect(logger.find('warn', 'dropped')).toHaveLength(3);
  });
});
