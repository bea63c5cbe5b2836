import type { CommandFamily } from '../types.js';

/** The lists commands (being written). */
export const commands: CommandFamily = [];
