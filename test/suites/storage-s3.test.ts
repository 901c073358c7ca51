// The storage conformance suite on S3 (s3rver in a child process), through the retry wrapper as
// openStorage builds it for an s3:// URL with the config file's credentials: once directly, once
// through a proxy that fails one request in ten (errors, hangs, resets).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStorage } from '../../src/storage/open-storage.js';
import { startFaultProxy } from '../harness/fault-proxy.js';
import type { FaultProxy } from '../harness/fault-proxy.js';
import { startS3Server } from '../harness/s3-server.js';
import { storageConformanceSuite } from './storage-suite.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

storageConformanceSuite('s3', async () => {
  const server = await startS3Server();
  const storage = openStorage(server.url('suite/repo'), undefined, { s3: credentials });
  return { storage, cleanup: () => server.destroy() };
});

let proxy: FaultProxy | undefined;

storageConformanceSuite('s3 through a faulty proxy (10 % of requests fail)', async () => {
  const server = await startS3Server();
  proxy = await startFaultProxy(server.endpoint, { rate: 0.1, seed: 7 });
  const storage = openStorage(server.url('suite', { endpoint: proxy.endpoint, timeout: '1', deadline: '60' }), undefined, { s3: credentials });
  return {
    storage,
    cleanup: async () => {
      await proxy?.close();
      await server.destroy();
    },
  };
});

describe('the faulty proxy', () => {
  it('did inject every kind of fault while the suite passed', () => {
    assert.ok(proxy, 'the proxied suite ran');
    for (const [kind, n] of Object.entries(proxy.stats.faults)) assert.ok(n > 0, `${kind} faults injected (${n})`);
  });
});
