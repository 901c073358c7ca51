// Turn a repository location (a path, file:// URL or s3:// URL) into a Storage driver.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dbtoolError } from '../core/errors.js';
import { PosixStorage } from './posix/posix-storage.js';
import type { Storage } from './storage.js';

export function openStorage(location: string, cwd = process.cwd()): Storage {
  if (/^s3:\/\//i.test(location)) {
    throw dbtoolError('USAGE', `S3 repositories (${location.split('?')[0]}) are not supported by this version of dbtool`, 'Use a local path for --repo');
  }
  if (/^file:\/\//i.test(location)) return new PosixStorage(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw dbtoolError('USAGE', `unknown repository URL scheme in '${location}'`, 'Use a local path, file:// or s3://');
  }
  return new PosixStorage(resolve(cwd, location));
}
