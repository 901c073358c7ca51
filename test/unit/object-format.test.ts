import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chunkIdOf, decodeObject, encodeObject, ObjectAuthError, ObjectFormatError } from '../../src/repo/object-format.js';

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
    flagged[7] = 4;
    assert.throws(() => decodeObject('manifest', flagged), /flags/);
    flagged[7] = 1;
    assert.throws(() => decodeObject('manifest', flagged), /encrypted, but no key/);
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

  describe('encrypted objects', () => {
    const dataKey = randomBytes(32);
    const kinds = ['chunk', 'manifest', 'archive', 'meta'] as const;

    it('round-trip, compressed first, with a fresh nonce each time and no plaintext digest', () => {
      for (const plain of [Buffer.alloc(100000, 7), randomBytes(5000), Buffer.alloc(0)]) {
        for (const kind of kinds) {
          const obj = encodeObject(kind, plain, { level: 1, dataKey, name: 'n1' });
          assert.equal(obj[7], 1, 'the encrypted flag is set');
          assert.deepEqual(decodeObject(kind, obj, { dataKey, name: 'n1' }), plain);
        }
      }
      const packed = encodeObject('chunk', Buffer.alloc(100000, 7), { level: 1, dataKey, name: 'n1' });
      assert.ok(packed.length < 1000, 'compressed before encryption');
      assert.equal(packed[6], 1, 'codec zstd');
      const r = randomBytes(5000);
      const a = encodeObject('manifest', r, { level: 1, dataKey, name: 'k' });
      const b = encodeObject('manifest', r, { level: 1, dataKey, name: 'k' });
      assert.equal(a.length, 8 + 12 + r.length + 16, 'header, nonce, ciphertext, tag: no digest');
      assert.notDeepEqual(a, b, 'a random nonce per object');
      assert.equal(a.indexOf(createHash('sha256').update(r).digest()), -1, 'the plaintext digest is not in clear');
      const text = Buffer.from('a marker string that must not show '.repeat(20));
      assert.equal(encodeObject('archive', text, { level: 0, dataKey, name: 'k' }).indexOf('marker string'), -1);
    });

    it('a flipped byte anywhere fails authentication', () => {
      const obj = encodeObject('archive', randomBytes(3000), { level: 1, dataKey, name: 'archive/main/00000001/000000010000000000000003' });
      for (const at of [5, 6, 7, 8 + 3, 40, obj.length - 1]) {
        const bad = Buffer.from(obj);
        bad[at]! ^= 0x01;
        // kind (5) and flags (7) are refused before decryption; everything else by the tag.
        assert.throws(() => decodeObject('archive', bad, { dataKey, name: 'archive/main/00000001/000000010000000000000003' }), ObjectFormatError, `byte ${at}`);
      }
      const bad = Buffer.from(obj);
      bad[100]! ^= 0x80;
      assert.throws(() => decodeObject('archive', bad, { dataKey, name: 'archive/main/00000001/000000010000000000000003' }), ObjectAuthError);
      assert.throws(() => decodeObject('archive', obj.subarray(0, 20), { dataKey, name: 'x' }), ObjectAuthError, 'truncated');
    });

    it('an object under another name, another key, or a plain object fails', () => {
      const chunk = encodeObject('chunk', randomBytes(1000), { level: 1, dataKey, name: 'aa'.repeat(32) });
      assert.throws(() => decodeObject('chunk', chunk, { dataKey, name: 'bb'.repeat(32) }), ObjectAuthError, 'swapped chunk');
      const m = encodeObject('manifest', Buffer.from('{}'), { level: 1, dataKey, name: 'backups/main/20261121T221000Z-F.manifest' });
      assert.throws(() => decodeObject('manifest', m, { dataKey, name: 'backups/main/20261121T221500Z-I.manifest' }), ObjectAuthError, 'swapped manifest');
      assert.throws(() => decodeObject('manifest', m, { dataKey: randomBytes(32), name: 'backups/main/20261121T221000Z-F.manifest' }), ObjectAuthError, 'another key');
      const relabelled = Buffer.from(m);
      relabelled[5] = 3; // claims to be an archive file
      assert.throws(() => decodeObject('archive', relabelled, { dataKey, name: 'backups/main/20261121T221000Z-F.manifest' }), ObjectAuthError, 'another kind');
      const plain = encodeObject('manifest', Buffer.from('{}'), { level: 1 });
      assert.throws(() => decodeObject('manifest', plain, { dataKey, name: 'x' }), /not encrypted/, 'a plain object in an encrypted repository');
      assert.throws(() => decodeObject('manifest', m), /no key/, 'an encrypted object without the key');
      assert.throws(() => encodeObject('chunk', Buffer.from('x'), { level: 1, dataKey }), /needs its name/);
    });

    it('leaves unencrypted objects exactly as before', () => {
      const plain = Buffer.from('{"a":1}');
      const obj = encodeObject('manifest', plain, { level: 0 });
      assert.deepEqual(obj, Buffer.concat([Buffer.from('DBT1'), Buffer.from([1, 2, 0, 0]), createHash('sha256').update(plain).digest(), plain]));
    });
  });
});
