import type { CommandFamily } from '../types.js';

/** The hashes commands (being written). */
export const commands: CommandFamily = [];
