import type { AccessControl, CommandSpec } from './types.js';

/**
 * Access control (being written by its owner; this first version knows only `requirepass`):
 * the `default` user, with the password from `requirepass` or none.
 */
export class Acl implements AccessControl {
  #password: string | undefined;

  constructor(options: { password?: string } = {}) {
    this.#password = options.password;
  }

  authenticate(user: string, password: string): boolean {
    return user === 'default' && (this.#password === undefined || password === this.#password);
  }

  defaultAuthenticated(): boolean {
    return this.#password === undefined;
  }

  check(
    _user: string,
    _spec: CommandSpec,
    _args: Buffer[],
    _keyPositions: readonly number[],
  ): string | undefined {
    return undefined;
  }
}
