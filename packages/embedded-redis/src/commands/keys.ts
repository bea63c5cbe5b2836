import type { CommandFamily } from '../types.js';

/** The keys commands (being written). */
export const commands: CommandFamily = [];
