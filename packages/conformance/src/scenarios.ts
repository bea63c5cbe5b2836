import type { Scenario } from './scenario.js';
import { ALL_SCENARIOS } from './scenarios/index.js';

/**
 * Every scenario of the suite: id, the guarantee it checks, and `requires(capabilities)` telling
 * whether a transport with those capabilities must pass it. For docs and tooling; each entry can
 * also be run (`run(ctx)`), most simply through `runScenario(id, factory, options)`.
 */
export const SCENARIOS: readonly Scenario[] = ALL_SCENARIOS;
