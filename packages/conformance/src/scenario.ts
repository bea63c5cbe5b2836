import type { Capabilities, Ordering } from '@relaybus/core';
import type { ScenarioContext } from './context.js';
import type { BooleanCapability } from './options.js';

/** What a scenario needs of a transport: a capability that must be on (or off), or an ordering. */
export type Need =
  | BooleanCapability
  | { readonly not: BooleanCapability }
  | { readonly ordering: readonly Ordering[] };

/** A scenario as documented: its id, the guarantee it checks and when it applies. */
export interface ScenarioInfo {
  /** Stable id, used in test names and in `ConformanceOptions.skip`. */
  readonly id: string;
  /** The guarantee the scenario checks, as a sentence. */
  readonly guarantee: string;
  /** True when a transport with these capabilities must pass the scenario. */
  readonly requires: (capabilities: Capabilities) => boolean;
}

/** A runnable scenario: `run` resolves when the transport kept the guarantee and throws when not. */
export interface Scenario extends ScenarioInfo {
  /** The capabilities it needs, e.g. `['acknowledgements', 'requeue']`. */
  readonly needs: readonly Need[];
  /** The needs that `capabilities` does not meet, described (empty when the scenario applies). */
  readonly missing: (capabilities: Capabilities) => string[];
  /** Runs the scenario against the context's fresh transport. */
  readonly run: (ctx: ScenarioContext) => Promise<void>;
}

/** Defines a scenario from its id, guarantee, needs and body. */
export function defineScenario(definition: {
  id: string;
  guarantee: string;
  needs: readonly Need[];
  run: (ctx: ScenarioContext) => Promise<void>;
}): Scenario {
  const missing = (capabilities: Capabilities): string[] =>
    definition.needs.filter((need) => !meets(need, capabilities)).map(describeNeed);
  return {
    id: definition.id,
    guarantee: definition.guarantee,
    needs: definition.needs,
    requires: (capabilities) => missing(capabilities).length === 0,
    missing,
    run: definition.run,
  };
}

function meets(need: Need, capabilities: Capabilities): boolean {
  if (typeof need === 'string') return capabilities[need];
  if ('not' in need) return !capabilities[need.not];
  return need.ordering.includes(capabilities.ordering);
}

/** A need as a short phrase: `requeue`, `deadLetter: false`, `ordering per-key or total`. */
export function describeNeed(need: Need): string {
  if (typeof need === 'string') return need;
  if ('not' in need) return `${need.not}: false`;
  return `ordering ${need.ordering.join(' or ')}`;
}
