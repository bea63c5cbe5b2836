import type { Scenario } from '../scenario.js';
import { streamsConsume, streamsPublishConcurrent, streamsPublishMany } from './streams.js';

/** Every scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [streamsPublishMany, streamsConsume, streamsPublishConcurrent];
