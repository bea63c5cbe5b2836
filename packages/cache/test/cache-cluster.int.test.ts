import { describeCache } from './suite.js';
import { CLUSTER_TARGET } from './targets.js';

await describeCache(CLUSTER_TARGET);
