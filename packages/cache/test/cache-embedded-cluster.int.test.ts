import { describeCache } from './suite.js';
import { EMBEDDED_CLUSTER_TARGET } from './targets.js';

await describeCache(EMBEDDED_CLUSTER_TARGET);
