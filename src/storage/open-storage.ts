// Turn a repository location (a path, file:// URL or s3:// URL) into a Storage driver.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dbtoolError } from '../core/errors.js';
import { isLocationUrl } from '../core/repo-location.js';
import { PosixStorage } from './posix/posix-storage.js';
import { RetryStorage } from './retry-storage.js';
import { parseS3Location } from './s3/s3-location.js';
import type { S3Settings } from './s3/s3-location.js';
import { LazyS3Storage } from './s3/lazy-s3-storage.js';
import type { Storage } from './storage.js';

export interface OpenStorageOptions {
  /** the config file's `s3:` keys; the URL's parameters win over them */
  s3?: S3Settings;
}

export function openStorage(location: string, cwd = process.cwd(), options: OpenStorageOptions = {}): Storage {
  if (/^s3:\/\//i.test(location)) {
    const loc = parseS3Location(location, options.s3);
    // The SDK loads on the first request: local repositories never pay for it.
    const s3 = new LazyS3Storage(loc);
    return new RetryStorage(s3, { deadlineMs: loc.deadlineMs, endpoint: `${s3.location} at ${s3.endpointName}` });
  }
  if (/^file:\/\//i.test(location)) return new PosixStorage(fileURLToPath(location));
  if (isLocationUrl(location)) {
    throw dbtoolError('USAGE', `unknown repository URL scheme in '${location}'`, 'Use a local path, file:// or s3://');
  }
  return new PosixStorage(resolve(cwd, location));
}
