import type { Scenario } from '../scenario.js';
import { streamsConsumeVsBullmq } from './bullmq.js';
import { streamsLatencyP99 } from './latency.js';
import { listsReliableConsume } from './lists.js';
import { memoryBacklog } from './memory.js';
import { pubsubFanout } from './pubsub.js';
import { streamsConsume, streamsPublishConcurrent, streamsPublishMany } from './streams.js';

/** Every scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [
  streamsPublishMany,
  streamsConsume,
  streamsConsumeVsBullmq,
  streamsPublishConcurrent,
  streamsLatencyP99,
  listsReliableConsume,
  pubsubFanout,
  memoryBacklog,
];
