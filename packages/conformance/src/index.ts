export type { Consumer, DeliveryHandler, Received } from './consumer.js';
export type { ScenarioContext } from './context.js';
export { describeTransport } from './describe.js';
export {
  type ConformanceOptions,
  DEFAULT_CONFORMANCE_OPTIONS,
  type TransportFactory,
} from './options.js';
export { runScenario } from './run.js';
export type { Need, Scenario, ScenarioInfo } from './scenario.js';
export { SCENARIOS } from './scenarios.js';
export { ConformanceTimeoutError } from './wait.js';
