import type { CommandFamily } from '../types.js';

/** The cluster commands (being written). */
export const commands: CommandFamily = [];
