import { describeCache } from './suite.js';
import { STANDALONE_TARGET } from './targets.js';

await describeCache(STANDALONE_TARGET);
