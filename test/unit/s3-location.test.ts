// s3:// repository URLs: parameters, config-file fallbacks, defaults, and every bad form refused
// with a clear error that never echoes a secret.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDbtoolError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';
import { parseS3Location } from '../../src/storage/s3/s3-location.js';

const code = (c: ErrorCode, not?: string) => (e: unknown) => isDbtoolError(e) && e.code === c && (not === undefined || !e.oneLine().includes(not));

describe('s3 repository URL', () => {
  it('bucket, prefix and parameters', () => {
    const l = parseS3Location('s3://my-bucket/backups/pg/?endpoint=http://127.0.0.1:9000&region=eu-west-1&pathStyle=false&deadline=5&timeout=2');
    assert.equal(l.bucket, 'my-bucket');
    assert.equal(l.prefix, 'backups/pg');
    assert.equal(l.endpoint, 'http://127.0.0.1:9000');
    assert.equal(l.region, 'eu-west-1');
    assert.equal(l.forcePathStyle, false);
    assert.equal(l.deadlineMs, 5000);
    assert.equal(l.requestTimeoutMs, 2000);
    assert.equal(l.credentials, undefined);
    assert.equal(l.description, 's3://my-bucket/backups/pg?endpoint=http://127.0.0.1:9000&region=eu-west-1');
  });

  it('defaults: SDK endpoint and region, virtual-hosted style, 60 s deadline, 30 s request timeout', () => {
    const l = parseS3Location('s3://bucket');
    assert.deepEqual([l.prefix, l.endpoint, l.region, l.forcePathStyle, l.deadlineMs, l.requestTimeoutMs], ['', undefined, undefined, false, 60_000, 30_000]);
    assert.equal(l.description, 's3://bucket');
    // An explicit endpoint (MinIO, Ceph, s3rver) defaults to path-style; a short deadline caps the request timeout.
    const m = parseS3Location('s3://bucket/p?endpoint=https://minio.example:9000&deadline=3');
    assert.equal(m.forcePathStyle, true);
    assert.equal(m.requestTimeoutMs, 3000);
  });

  it('the config file fills what the URL leaves out; the URL wins', () => {
    const cfg = { endpoint: 'http://cfg:9000', region: 'cfg-region', pathStyle: false, accessKeyId: 'AKID', secretAccessKey: 'SECRET' };
    const l = parseS3Location('s3://bucket/p?region=url-region', cfg);
    assert.equal(l.endpoint, 'http://cfg:9000');
    assert.equal(l.region, 'url-region');
    assert.equal(l.forcePathStyle, false);
    assert.deepEqual(l.credentials, { accessKeyId: 'AKID', secretAccessKey: 'SECRET' });
    assert.ok(!l.description.includes('SECRET') && !l.description.includes('AKID'), 'no credentials in the description');
  });

  it('refuses bad URLs with a usage error', () => {
    for (const bad of ['s3://', 's3://B!/x', 's3://bucket/a/../b', 's3://bucket/a//b', 's3://bucket?endpoint=ftp://x', 's3://bucket?endpoint=nourl', 's3://bucket?deadline=0', 's3://bucket?timeout=abc', 's3://bucket?pathStyle=maybe']) {
      assert.throws(() => parseS3Location(bad), code('USAGE'), bad);
    }
  });

  it('refuses credentials in the URL and unknown parameters without echoing their values', () => {
    assert.throws(() => parseS3Location('s3://AKID:hunter2@bucket/p'), code('USAGE', 'hunter2'));
    assert.throws(() => parseS3Location('s3://bucket/p?secretAccessKey=hunter2'), code('USAGE', 'hunter2'));
    assert.throws(() => parseS3Location('s3://bucket/p?endpoint=http://AKID:hunter2@host:9000'), code('USAGE', 'hunter2'));
  });

  it('refuses half a key pair from the config file', () => {
    assert.throws(() => parseS3Location('s3://bucket', { accessKeyId: 'AKID' }), code('CONFIG_INVALID'));
  });
});
