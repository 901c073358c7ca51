// A repository location as every process must see it (the CLI, archive_command, restore_command):
// a URL as written, a path made absolute.

import { isAbsolute, resolve } from 'node:path';

/** `scheme://…`: a URL, not a path. */
export function isLocationUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location);
}

export function absoluteLocation(location: string, cwd: string): string {
  return isLocationUrl(location) || isAbsolute(location) ? location : resolve(cwd, location);
}
