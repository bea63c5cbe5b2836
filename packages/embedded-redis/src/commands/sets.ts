import type { CommandFamily } from '../types.js';

/** The sets commands (being written). */
export const commands: CommandFamily = [];
