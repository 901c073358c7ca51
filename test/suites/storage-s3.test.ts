// The storage conformance suite on S3 (s3rver in a child process), through the retry wrapper, as
// openStorage builds it for an s3:// URL with the config file's credentials.

import { openStorage } from '../../src/storage/open-storage.js';
import { startS3Server } from '../harness/s3-server.js';
import { storageConformanceSuite } from './storage-suite.js';

storageConformanceSuite('s3', async () => {
  const server = await startS3Server();
  const storage = openStorage(server.url('suite/repo'), undefined, { s3: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  return { storage, cleanup: () => server.destroy() };
});
