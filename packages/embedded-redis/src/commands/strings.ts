import type { CommandFamily } from '../types.js';

/** The strings commands (being written). */
export const commands: CommandFamily = [];
