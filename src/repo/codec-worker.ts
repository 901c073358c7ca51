// Worker thread body: keyed hashing, encoding and decoding of repository objects.

import { parentPort, workerData } from 'node:worker_threads';
import { chunkIdOf, decodeObject, encodeObject } from './object-format.js';
import type { ObjectKindName } from './object-format.js';

interface Init {
  idKey: Uint8Array;
  level: number;
}

interface Task {
  id: number;
  op: 'digest' | 'seal' | 'open';
  data: ArrayBuffer;
  kind?: ObjectKindName;
  /** for 'open' of a chunk: the id the plaintext must hash to */
  expectId?: string;
}

const init = workerData as Init;
const idKey = Buffer.from(init.idKey);

function asTransferable(b: Buffer): ArrayBuffer {
  // A Buffer from a pool or a subarray shares memory: copy into a buffer of its own.
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  const copy = new ArrayBuffer(b.byteLength);
  new Uint8Array(copy).set(b);
  return copy;
}

parentPort!.on('message', (task: Task) => {
  try {
    const data = new Uint8Array(task.data);
    if (task.op === 'digest') {
      const chunkId = chunkIdOf(idKey, data);
      parentPort!.postMessage({ id: task.id, ok: true, value: { chunkId, data: task.data } }, [task.data]);
    } else if (task.op === 'seal') {
      const obj = asTransferable(encodeObject(task.kind ?? 'chunk', data, { level: init.level }));
      parentPort!.postMessage({ id: task.id, ok: true, value: obj }, [obj]);
    } else {
      const plain = decodeObject(task.kind ?? 'chunk', data);
      if (task.expectId !== undefined && chunkIdOf(idKey, plain) !== task.expectId) {
        throw new Error('content does not match its chunk id');
      }
      const out = asTransferable(plain);
      parentPort!.postMessage({ id: task.id, ok: true, value: out }, [out]);
    }
  } catch (e) {
    parentPort!.postMessage({ id: task.id, ok: false, error: (e as Error).message });
  }
});
