import type { CommandFamily } from '../types.js';

/** The server commands (being written). */
export const commands: CommandFamily = [];
