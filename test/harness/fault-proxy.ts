// Test harness: an HTTP proxy on 127.0.0.1 in front of an S3 server that fails a share of the
// requests (seeded, so a run is repeatable): 500, 503 SlowDown, a hang past the client's timeout,
// a connection reset before the request reaches the server, or a reset after the server stored it
// (the answer is lost: the client cannot know whether its write happened).

import { createServer, request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from '../../src/core/free-port.js';

export type Fault = '500' | '503' | 'hang' | 'reset' | 'reset-after';
const FAULTS: Fault[] = ['500', '503', 'hang', 'reset', 'reset-after'];

export interface FaultProxy {
  /** http://127.0.0.1:PORT, to use as the S3 endpoint */
  endpoint: string;
  /** requests seen, and faults injected by kind */
  stats: { requests: number; faults: Record<Fault, number> };
  /** change the share of failed requests (0 turns faults off) */
  setRate(rate: number): void;
  close(): Promise<void>;
}

/** mulberry32: a small seeded PRNG, good enough to pick faults. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function s3Error(res: ServerResponse, status: number, code: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the fault proxy</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

export async function startFaultProxy(upstream: string, opts: { rate?: number; seed?: number } = {}): Promise<FaultProxy> {
  const up = new URL(upstream);
  const random = prng(opts.seed ?? 42);
  let rate = opts.rate ?? 0.1;
  const stats = { requests: 0, faults: { '500': 0, '503': 0, hang: 0, reset: 0, 'reset-after': 0 } as Record<Fault, number> };
  const sockets = new Set<Socket>();

  function forward(req: IncomingMessage, res: ServerResponse, onAnswered?: () => void): void {
    const out = request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (onAnswered) {
          // The server has the request (and stored any body); the client never hears of it.
          answer.resume();
          answer.once('end', onAnswered);
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  }

  const server = createServer((req, res) => {
    stats.requests++;
    const fault = random() < rate ? FAULTS[Math.floor(random() * FAULTS.length)]! : undefined;
    if (!fault) return forward(req, res);
    stats.faults[fault]++;
    switch (fault) {
      case '500':
        req.resume();
        req.once('end', () => s3Error(res, 500, 'InternalError'));
        return;
      case '503':
        req.resume();
        req.once('end', () => s3Error(res, 503, 'SlowDown'));
        return;
      case 'hang':
        req.resume(); // read the body, answer nothing: the client's timeout must fire
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'reset-after':
        forward(req, res, () => req.socket.destroy());
        return;
    }
  });
  server.keepAliveTimeout = 5_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    setRate(r) {
      rate = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
