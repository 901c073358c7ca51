import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { S3Getter } from '../../src/storage/s3/s3-getter.js';

// What an S3-compatible server may answer, each under its own key: the getter must turn every
// answer but a whole 200 into an error shaped as the SDK's (name, $metadata.httpStatusCode).
const answers: Record<string, (res: ServerResponse) => void> = {
  whole: (res) => res.writeHead(200, { 'content-length': '5' }).end('hello'),
  truncated: (res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('only part of it');
    res.socket?.destroy();
  },
  missing: (res) => res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>'),
  refused: (res) => res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>InvalidAccessKeyId</Code><Message>no such key id</Message></Error>'),
  broken: (res) => res.writeHead(503).end('not xml at all'),
  silent: () => undefined,
};

describe('S3Getter: the answers of a server', () => {
  let server: Server;
  let getter: S3Getter;
  let client: S3Client;
  const seen: Array<{ url: string; auth: string | undefined }> = [];

  before(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      const key = (req.url ?? '').split('/').pop() ?? '';
      (answers[key] ?? answers.missing!)(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } });
    getter = new S3Getter(client, 'bkt', endpoint, true, { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent() }, 500);
  });

  after(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('returns a whole body, from the path-style URL, signed with SigV4', async () => {
    assert.equal((await getter.get('pre/fix/whole')).toString(), 'hello');
    const last = seen.at(-1)!;
    assert.equal(last.url, '/bkt/pre/fix/whole');
    assert.match(last.auth ?? '', /^AWS4-HMAC-SHA256 Credential=AK\/\d{8}\/us-east-1\/s3\/aws4_request/);
  });

  it('refuses a body cut short of its Content-Length', async () => {
    // Whichever side notices first (Node's client, or the length check): never a short body, and
    // no HTTP status, so the storage layer retries it.
    await assert.rejects(getter.get('truncated'), (e: Error & { $metadata?: unknown }) => e.$metadata === undefined && /socket hang up|closed in the middle|ended after/.test(e.message));
  });

  it("names S3's error code and carries the status", async () => {
    await assert.rejects(getter.get('missing'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    await assert.rejects(getter.get('refused'), { name: 'InvalidAccessKeyId', message: 'no such key id', $metadata: { httpStatusCode: 403 } });
    await assert.rejects(getter.get('broken'), { name: 'HTTP503', $metadata: { httpStatusCode: 503 } });
  });

  it('gives up on a server that does not answer, after the idle timeout', async () => {
    await assert.rejects(getter.get('silent'), { name: 'TimeoutError' });
  });
});
