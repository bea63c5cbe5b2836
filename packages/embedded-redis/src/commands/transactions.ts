import type { CommandFamily } from '../types.js';

/** The transactions commands (being written). */
export const commands: CommandFamily = [];
