import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { compress } from 'zstd-napi';
import { ZstdScratch } from '../../src/repo/zstd-scratch.js';
import { decodeObject, encodeObject } from '../../src/repo/object-format.js';

describe('ZstdScratch', () => {
  it('compresses and decompresses chunk after chunk in reused buffers, byte-exact', () => {
    const z = new ZstdScratch();
    const inputs = [Buffer.alloc(1 << 20, 3), Buffer.concat([randomBytes(300000), Buffer.alloc(700000, 9)]), Buffer.alloc(10, 1), Buffer.alloc(3 << 20, 5)];
    for (const plain of inputs) {
      const packed = Buffer.from(z.compress(plain, 1));
      if (plain.length > 100) assert.ok(packed.length < plain.length);
      assert.deepEqual(z.decompress(packed), plain);
      // Frames written by the library's own API (older repositories) read the same way.
      assert.deepEqual(z.decompress(compress(plain, { compressionLevel: 1 })), plain);
    }
  });
  it('decompresses into a buffer given for it, when the frame fits', () => {
    const z = new ZstdScratch();
    const plain = Buffer.concat([randomBytes(5000), Buffer.alloc(60000, 4)]);
    const packed = Buffer.from(z.compress(plain, 1));
    const target = Buffer.alloc(70000);
    const out = z.decompress(packed, target);
    assert.equal(out.buffer, target.buffer, 'written where it was asked');
    assert.equal(out.byteOffset, target.byteOffset);
    assert.deepEqual(out, plain);
    // Without one, the frame goes to the scratch buffer.
    const again = z.decompress(packed);
    assert.notEqual(again.buffer, target.buffer);
    assert.deepEqual(again, plain);
    // Too small a buffer is passed over.
    const small = Buffer.alloc(100);
    const past = z.decompress(packed, small);
    assert.notEqual(past.buffer, small.buffer);
    assert.deepEqual(past, plain);
  });
  it('refuses a damaged frame', () => {
    const z = new ZstdScratch();
    const packed = Buffer.from(z.compress(Buffer.concat([randomBytes(1000), Buffer.alloc(100000, 2)]), 1));
    packed[packed.length - 3]! ^= 0xff;
    packed[20]! ^= 0xff;
    assert.throws(() => z.decompress(packed));
  });
  it('gives the object format the same objects with and without it', () => {
    const z = new ZstdScratch();
    for (const plain of [Buffer.alloc(200000, 7), randomBytes(5000)]) {
      const a = encodeObject('chunk', plain, { level: 1 });
      const b = encodeObject('chunk', plain, { level: 1, scratch: z });
      assert.deepEqual(decodeObject('chunk', b, { scratch: z }), plain);
      assert.deepEqual(decodeObject('chunk', a, { scratch: z }), plain);
      assert.deepEqual(decodeObject('chunk', b), plain);
    }
  });
});
