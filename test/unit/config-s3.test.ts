// The config file's `s3:` keys reach the settings; a misspelt one is refused, naming it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDbtoolError } from '../../src/core/errors.js';
import { resolveSettings } from '../../src/config/settings.js';

describe('config file s3: keys', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dbtool-config-s3-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('are passed on as typed settings', async () => {
    await writeFile(join(dir, 'ok.yaml'), 'repo: s3://bucket/pg\ns3:\n  endpoint: http://127.0.0.1:9000\n  region: us-east-1\n  pathStyle: true\n  accessKeyId: AKID\n  secretAccessKey: SECRET\n');
    const s = resolveSettings({ config: 'ok.yaml' }, {}, dir);
    assert.equal(s.repo, 's3://bucket/pg');
    assert.deepEqual(s.s3, { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', pathStyle: true, accessKeyId: 'AKID', secretAccessKey: 'SECRET' });
    assert.equal(resolveSettings({}, {}, dir).s3, undefined);
  });

  it('an unknown or mistyped key is an error naming it', async () => {
    await writeFile(join(dir, 'bad.yaml'), 's3:\n  endpiont: http://x\n');
    assert.throws(() => resolveSettings({ config: 'bad.yaml' }, {}, dir), (e) => isDbtoolError(e) && e.code === 'CONFIG_INVALID' && /s3\.endpiont/.test(e.message));
    await writeFile(join(dir, 'bad2.yaml'), 's3:\n  pathStyle: "yes"\n');
    assert.throws(() => resolveSettings({ config: 'bad2.yaml' }, {}, dir), (e) => isDbtoolError(e) && e.code === 'CONFIG_INVALID' && /s3\.pathStyle/.test(e.message));
  });
});
