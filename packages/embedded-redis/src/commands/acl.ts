import type { CommandFamily } from '../types.js';

/** The acl commands (being written). */
export const commands: CommandFamily = [];
