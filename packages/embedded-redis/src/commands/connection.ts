import type { CommandFamily } from '../types.js';

/** The connection commands (being written). */
export const commands: CommandFamily = [];
