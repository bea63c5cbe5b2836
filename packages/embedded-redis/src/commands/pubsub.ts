import type { CommandFamily } from '../types.js';

/** The pubsub commands (being written). */
export const commands: CommandFamily = [];
