import type { CommandFamily } from '../types.js';

/** The scripting commands (being written). */
export const commands: CommandFamily = [];
