import { Header, type StoredMessage } from '@relaybus/core';
import { assert, expect } from 'vitest';
import { bytesDifference } from '../bytes.js';
import type { ScenarioContext } from '../context.js';

/**
 * A handler that keeps nacking gives up (acks) after this many deliveries of one message. A
 * transport that redelivers without end, and in-process without ever yielding to the event loop,
 * would otherwise starve every timer, the suite's deadlines included.
 */
export const MAX_NACKS_PER_MESSAGE = 10;

/** Asserts that `actual` holds exactly the bytes of `expected`. */
export function expectBytes(actual: unknown, expected: Uint8Array, what: string): void {
  const difference = bytesDifference(actual, expected);
  if (difference !== undefined) assert.fail(`${what}: ${difference}`);
}

/**
 * Calls `call` and returns the error its promise rejected with. Fails when the call throws
 * synchronously instead of rejecting, or when the promise resolves.
 */
export async function rejectionOf(call: () => Promise<unknown>, what: string): Promise<unknown> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    throw new Error(`${what} threw synchronously instead of returning a rejected promise: ${String(error)}`, {
      cause: error,
    });
  }
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`${what} resolved; it must reject`);
}

/** Asserts a relaybus error with `code` (by code and name, so a second copy of core still matches). */
export function expectRelaybusError(error: unknown, code: string, name: string, what: string): void {
  expect(error, `${what}: rejects with an Error`).toBeInstanceOf(Error);
  expect((error as { code?: unknown }).code, `${what}: error.code`).toBe(code);
  expect((error as Error).name, `${what}: error.name`).toBe(name);
}

/** True when `stored` is the dead letter of message `id` (same id, or its original-id header). */
export function isCopyOf(stored: StoredMessage, id: string): boolean {
  return stored.id === id || stored.headers[Header.originalId] === id;
}

/** Waits until the dead letters of `subject` hold message `id`, and returns that dead letter. */
export async function awaitDeadLetter(
  ctx: ScenarioContext,
  subject: string,
  id: string,
  timeoutMs = ctx.timeoutMs,
): Promise<StoredMessage> {
  const deadLetters = ctx.transport.deadLetters;
  if (deadLetters === undefined)
    throw new Error('capabilities.deadLetter is set but transport.deadLetters() is missing');
  let found: StoredMessage | undefined;
  let seen: StoredMessage[] = [];
  await ctx.until(
    async () => {
      seen = await deadLetters.call(ctx.transport, subject, { limit: 1_000 });
      found = seen.find((stored) => isCopyOf(stored, id));
      return found !== undefined;
    },
    () =>
      `message ${id} is among the dead letters of ${subject} (found ${seen.length}: ${seen.map((s) => s.id).join(', ')})`,
    timeoutMs,
  );
  return found as StoredMessage;
}

/** Headers of `actual` that were not published and are not reserved `x-relaybus-` ones. */
export function unexpectedHeaders(
  actual: Record<string, string>,
  published: Record<string, string>,
): string[] {
  return Object.keys(actual).filter((key) => !(key in published) && !key.startsWith('x-relaybus-'));
}

/** Publishes a marker message and waits until `consumerHas(id)`; returns its id. */
export async function flushWithMarker(
  ctx: ScenarioContext,
  subject: string,
  consumerHas: (id: string) => boolean,
  timeoutMs = ctx.timeoutMs,
): Promise<string> {
  const { id } = await ctx.publisher().publish(subject, { payload: new TextEncoder().encode('marker') });
  await ctx.until(() => consumerHas(id), `the marker message ${id} is delivered`, timeoutMs);
  return id;
}
