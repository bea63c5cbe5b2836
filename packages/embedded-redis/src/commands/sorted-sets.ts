import type { CommandFamily } from '../types.js';

/** The sorted-sets commands (being written). */
export const commands: CommandFamily = [];
