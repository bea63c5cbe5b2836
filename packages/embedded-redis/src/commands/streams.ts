import type { CommandFamily } from '../types.js';

/** The streams commands (being written). */
export const commands: CommandFamily = [];
