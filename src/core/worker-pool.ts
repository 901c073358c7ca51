// A small pool of worker threads for CPU work (hashing, compression) off the main thread.
// Tasks go to the least-loaded worker; buffers are transferred, never cloned.

import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dbtoolError } from './errors.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
}

export interface WorkerReply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
  /** the name of the worker's Error (e.g. its subclass), set on the Error the caller sees */
  errorName?: string;
}

/**
 * Resolve a worker script next to `base` (an import.meta.url): the compiled `.js` when running
 * from dist/, the `.ts` source under tsx (tests), which then needs tsx's loader in the worker.
 */
export interface WorkerScript {
  url: URL;
  /** under tsx: register its loader in the worker first (execArgv --import does not reach workers) */
  viaTsx: boolean;
}

export function workerScript(base: string, stem: string): WorkerScript {
  const js = new URL(`./${stem}.js`, base);
  if (existsSync(fileURLToPath(js))) return { url: js, viaTsx: false };
  return { url: new URL(`./${stem}.ts`, base), viaTsx: true };
}

function startWorker(script: WorkerScript, workerData: unknown): Worker {
  if (!script.viaTsx) return new Worker(script.url, { workerData });
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(script.url.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(script: WorkerScript, size: number, workerData: unknown) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const worker = startWorker(script, workerData);
      const slot: Slot = { worker, busy: 0, pending: new Map() };
      worker.on('message', (msg: WorkerReply) => {
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        slot.busy--;
        if (msg.ok) p.resolve(msg.value);
        else {
          const err = new Error(msg.error);
          if (msg.errorName) err.name = msg.errorName;
          p.reject(err);
        }
      });
      worker.on('error', (err) => this.failAll(slot, err));
      worker.on('exit', (code) => {
        if (!this.closed) this.failAll(slot, new Error(`worker thread exited with code ${code}`));
      });
      // Idle workers must not keep the process alive.
      worker.unref();
      this.slots.push(slot);
    }
  }

  private failAll(slot: Slot, err: unknown): void {
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
    slot.busy = 0;
  }

  run<T>(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(dbtoolError('INTERNAL', 'worker pool used after close'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    const id = this.nextId++;
    slot.busy++;
    if (slot.busy === 1) slot.worker.ref();
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, {
        resolve: (v) => {
          if (slot.busy === 0) slot.worker.unref();
          resolve(v as T);
        },
        reject: (e) => {
          if (slot.busy === 0) slot.worker.unref();
          reject(e);
        },
      });
      slot.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /**
   * Post a message to every worker, with no reply (e.g. shared memory they keep). Each worker
   * handles messages in order, so tasks posted after it see its effect.
   */
  broadcast(message: Record<string, unknown>): void {
    if (this.closed) return;
    for (const s of this.slots) s.worker.postMessage(message);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
