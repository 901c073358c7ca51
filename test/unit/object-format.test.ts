import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chunkIdOf, decodeObject, encodeObject, ObjectFormatError } from '../../src/repo/object-format.js';

describe('object format', () => {
  it('round-trips compressible and incompressible data', () => {
    for (const plain of [Buffer.alloc(100000, 7), randomBytes(5000), Buffer.alloc(0)]) {
      for (const kind of ['chunk', 'manifest', 'archive'] as const) {
        assert.deepEqual(decodeObject(kind, encodeObject(kind, plain, { level: 1 })), plain);
      }
    }
    assert.ok(encodeObject('chunk', Buffer.alloc(100000, 7), { level: 1 }).length < 1000, 'compressed');
    const r = randomBytes(5000);
    assert.equal(encodeObject('chunk', r, { level: 1 }).length, r.length + 8, 'stored plain when zstd does not help');
  });
  it('refuses another kind, bad magic and unknown flags', () => {
    const obj = encodeObject('manifest', Buffer.from('{}'), { level: 1 });
    assert.throws(() => decodeObject('archive', obj), ObjectFormatError);
    const bad = Buffer.from(obj);
    bad[0] = 0;
    assert.throws(() => decodeObject('manifest', bad), /bad magic/);
    const flagged = Buffer.from(obj);
    flagged[7] = 1;
    assert.throws(() => decodeObject('manifest', flagged), /flags/);
  });
  it('detects a flipped byte in a manifest or archive file', () => {
    const obj = encodeObject('archive', randomBytes(3000), { level: 1 });
    obj[obj.length - 10]! ^= 0xff;
    assert.throws(() => decodeObject('archive', obj), ObjectFormatError);
  });
  it('names chunks by a keyed hash', () => {
    const data = Buffer.from('hello');
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    assert.equal(chunkIdOf(k1, data), chunkIdOf(k1, Buffer.from('hello')));
    assert.notEqual(chunkIdOf(k1, data), chunkIdOf(k2, data));
    assert.match(chunkIdOf(k1, data), /^[0-9a-f]{64}$/);
  });
});
