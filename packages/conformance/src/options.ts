import { type Capabilities, ConfigError, checkInteger, checkNumber, type Transport } from '@relaybus/core';

/** Makes a fresh transport for one scenario. Called once per test (and once while collecting). */
export type TransportFactory = () => Transport | Promise<Transport>;

/** Options of `describeTransport` and `runScenario`. */
export interface ConformanceOptions {
  /**
   * Declares or overrides capabilities. Default: the `capabilities` of a first `factory()` instance.
   * When every capability is given here, the factory is not called while collecting tests.
   */
  capabilities?: Partial<Capabilities>;
  /** Deadline of each wait-until in milliseconds. Default 10 000. */
  timeoutMs?: number;
  /**
   * How long the transport lets a delivery abandoned by a closed (or crashed) consumer sit before
   * another consumer of the group may take it. The suite waits up to `redeliveryIdleMs * 3 +
   * timeoutMs` for such redeliveries, and holds a delivery for more than `redeliveryIdleMs * 2` to
   * prove a live consumer's delivery is not taken from it. Default 1 000.
   */
  redeliveryIdleMs?: number;
  /** Scenario ids to skip; each skip is reported with its reason, never silently. */
  skip?: string[];
  /** Multiplier of the message counts in the load scenarios. Default 1. */
  scale?: number;
}

/** Defaults of `ConformanceOptions`. */
export const DEFAULT_CONFORMANCE_OPTIONS = {
  timeoutMs: 10_000,
  redeliveryIdleMs: 1_000,
  scale: 1,
} as const;

/** Options after validation, with defaults filled in. */
export interface ResolvedOptions {
  readonly capabilities: Partial<Capabilities>;
  readonly timeoutMs: number;
  readonly redeliveryIdleMs: number;
  readonly skip: ReadonlySet<string>;
  readonly scale: number;
}

const OPTION_KEYS = ['capabilities', 'timeoutMs', 'redeliveryIdleMs', 'skip', 'scale'];

/** The names of the boolean capabilities, in the order of the `Capabilities` interface. */
export const BOOLEAN_CAPABILITIES = [
  'persistent',
  'acknowledgements',
  'requeue',
  'delayedRequeue',
  'delayedPublish',
  'deadLetter',
  'competingConsumers',
  'fanOutGroups',
  'history',
  'redeliveryAfterCrash',
] as const satisfies readonly (keyof Capabilities)[];

/** A boolean capability's name. */
export type BooleanCapability = (typeof BOOLEAN_CAPABILITIES)[number];

const ORDERINGS = ['none', 'per-key', 'total'];

/** Validates options once; throws `ConfigError` naming the option. `knownIds` guards `skip` against typos. */
export function resolveOptions(
  options: ConformanceOptions | undefined,
  knownIds: readonly string[],
): ResolvedOptions {
  const input = options ?? {};
  if (input === null || typeof input !== 'object') throw new ConfigError('options', 'must be an object');
  for (const key of Object.keys(input)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new ConfigError(key, `unknown option; known options are ${OPTION_KEYS.join(', ')}`);
    }
  }
  const skip = input.skip ?? [];
  if (!Array.isArray(skip)) throw new ConfigError('skip', 'must be an array of scenario ids');
  for (const id of skip) {
    if (!knownIds.includes(id)) {
      throw new ConfigError('skip', `unknown scenario id ${JSON.stringify(id)}; see SCENARIOS for the ids`);
    }
  }
  return {
    capabilities: checkCapabilities('capabilities', input.capabilities ?? {}, false),
    timeoutMs: checkInteger('timeoutMs', input.timeoutMs ?? DEFAULT_CONFORMANCE_OPTIONS.timeoutMs, 1),
    redeliveryIdleMs: checkInteger(
      'redeliveryIdleMs',
      input.redeliveryIdleMs ?? DEFAULT_CONFORMANCE_OPTIONS.redeliveryIdleMs,
      0,
    ),
    skip: new Set(skip),
    scale: checkNumber('scale', input.scale ?? DEFAULT_CONFORMANCE_OPTIONS.scale, Number.MIN_VALUE),
  };
}

/**
 * Checks a (partial or complete) capabilities object: known keys only, booleans, and an ordering of
 * `none`, `per-key` or `total`. With `complete`, every capability must be present.
 */
export function checkCapabilities(option: string, value: unknown, complete: true): Capabilities;
export function checkCapabilities(option: string, value: unknown, complete: false): Partial<Capabilities>;
export function checkCapabilities(option: string, value: unknown, complete: boolean): Partial<Capabilities> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(option, 'must be a capabilities object');
  }
  const record = value as Record<string, unknown>;
  const known: readonly string[] = [...BOOLEAN_CAPABILITIES, 'ordering'];
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new ConfigError(`${option}.${key}`, `unknown capability; known ones are ${known.join(', ')}`);
    }
  }
  for (const key of BOOLEAN_CAPABILITIES) {
    const flag = record[key];
    if (flag === undefined && !complete) continue;
    if (typeof flag !== 'boolean') {
      throw new ConfigError(`${option}.${key}`, `must be a boolean, got ${String(flag)}`);
    }
  }
  const ordering = record['ordering'];
  if (!(ordering === undefined && !complete) && !ORDERINGS.includes(ordering as string)) {
    throw new ConfigError(
      `${option}.ordering`,
      `must be one of "none", "per-key", "total", got ${String(ordering)}`,
    );
  }
  return record as Partial<Capabilities>;
}

/** True when `partial` names every capability (so no transport is needed to know them). */
export function isComplete(partial: Partial<Capabilities>): partial is Capabilities {
  return BOOLEAN_CAPABILITIES.every((key) => partial[key] !== undefined) && partial.ordering !== undefined;
}
