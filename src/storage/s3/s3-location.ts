// Parse an `s3://bucket/prefix?endpoint=…&region=…&pathStyle=…&deadline=…&timeout=…` repository URL
// (plus the config file's `s3:` keys) into plain options for the S3 driver and its retry wrapper.

import { dbtoolError } from '../../core/errors.js';

/** What the config file may say about S3 (the URL's parameters win). */
export interface S3Settings {
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface S3Location {
  bucket: string;
  /** key prefix without leading or trailing '/', '' for the bucket's root */
  prefix: string;
  /** undefined: the SDK decides (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS itself) */
  endpoint: string | undefined;
  /** undefined: the SDK decides (AWS_REGION, the shared config's profile) */
  region: string | undefined;
  forcePathStyle: boolean;
  /** explicit keys from the config file; undefined: the SDK's credential chain */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** total time one storage operation may take, retries included */
  deadlineMs: number;
  /** how long one request may stay silent (connect, or no bytes moving) before it is abandoned */
  requestTimeoutMs: number;
  /** the URL without secrets, for messages */
  description: string;
}

export const DEFAULT_DEADLINE_S = 60;
export const DEFAULT_REQUEST_TIMEOUT_S = 30;

const KNOWN_PARAMS = new Set(['endpoint', 'region', 'pathStyle', 'deadline', 'timeout']);

function bad(location: string, why: string): Error {
  // Shown without parameters or user info: either may hold a secret.
  const shown = location.split('?')[0]!.replace(/^s3:\/\/[^/]*@/i, 's3://…@');
  return dbtoolError('USAGE', `the repository URL ${shown} is not valid: ${why}`, 'Use s3://BUCKET/PREFIX?endpoint=URL&region=REGION&pathStyle=true (see README: S3)');
}

function seconds(location: string, name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw bad(location, `${name}=${text} is not a number of seconds (0 < n ≤ 86400)`);
  return Math.round(n * 1000);
}

function flag(location: string, name: string, text: string): boolean {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw bad(location, `${name}=${text} is not true or false`);
}

export function parseS3Location(location: string, settings: S3Settings = {}): S3Location {
  const m = /^s3:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(location);
  if (!m) throw bad(location, 'expected s3://BUCKET[/PREFIX][?PARAMS]');
  const bucket = m[1]!;
  if (bucket.includes('@')) throw bad(location, 'credentials do not belong in the URL; use the environment, a profile or the config file');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad(location, `'${bucket}' is not a bucket name`);
  const prefix = decodeURIComponent(m[2]!).replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((p) => p === '.' || p === '..') || prefix.includes('//')) throw bad(location, `the prefix '${prefix}' has empty, '.' or '..' parts`);

  const params = new URLSearchParams(m[3] ?? '');
  for (const name of params.keys()) {
    // Never echo the value: someone may have put a secret there.
    if (!KNOWN_PARAMS.has(name)) throw bad(location, `unknown parameter '${name}' (known: ${[...KNOWN_PARAMS].join(', ')})`);
  }
  const endpoint = params.get('endpoint') ?? settings.endpoint;
  if (endpoint !== undefined) {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw bad(location, `endpoint '${endpoint}' is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad(location, `endpoint '${endpoint}' is not http(s)`);
    if (u.username || u.password) throw bad(location, 'the endpoint must not carry credentials');
  }
  const region = params.get('region') ?? settings.region;
  const pathStyleText = params.get('pathStyle');
  // An explicit endpoint is nearly always a MinIO/Ceph/s3rver-like service, which wants path-style.
  const forcePathStyle = pathStyleText !== null ? flag(location, 'pathStyle', pathStyleText) : (settings.pathStyle ?? endpoint !== undefined);
  const deadlineText = params.get('deadline');
  const timeoutText = params.get('timeout');
  const deadlineMs = deadlineText !== null ? seconds(location, 'deadline', deadlineText) : DEFAULT_DEADLINE_S * 1000;
  const requestTimeoutMs = timeoutText !== null ? seconds(location, 'timeout', timeoutText) : Math.min(DEFAULT_REQUEST_TIMEOUT_S * 1000, deadlineMs);

  if ((settings.accessKeyId === undefined) !== (settings.secretAccessKey === undefined)) {
    throw dbtoolError('CONFIG_INVALID', 'the config file gives only one of s3.accessKeyId and s3.secretAccessKey', 'Give both, or neither (then the AWS environment variables or profile are used)');
  }
  const credentials = settings.accessKeyId !== undefined && settings.secretAccessKey !== undefined ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } : undefined;

  const shown = new URLSearchParams();
  if (endpoint !== undefined) shown.set('endpoint', endpoint);
  if (region !== undefined) shown.set('region', region);
  const query = shown.toString();
  const description = `s3://${bucket}${prefix ? `/${prefix}` : ''}${query ? `?${query.replace(/%3A/gi, ':').replace(/%2F/gi, '/')}` : ''}`;
  return { bucket, prefix, endpoint, region, forcePathStyle, credentials, deadlineMs, requestTimeoutMs, description };
}
