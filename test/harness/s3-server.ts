// Test harness: a throw-away S3 server (s3rver) in a child process on 127.0.0.1, a free port and a
// temp directory, with one bucket; stopped and deleted after.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/core/free-port.js';
import { onProcessExit } from '../../src/core/on-process-exit.js';
import { repoRoot } from './pg-cluster.js';

export interface S3Server {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  bucket: string;
  /** s3rver's fixed credentials and a region, for the SDK (also for archive_command's environment) */
  env: Record<string, string>;
  /** `s3://BUCKET/PREFIX?endpoint=…&region=…&pathStyle=true` plus `extra` parameters */
  url(prefix: string, extra?: Record<string, string>): string;
  /** Stop the server, keeping its data (start again with restart). */
  stop(): Promise<void>;
  /** Start it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stop and delete everything; safe to call twice. */
  destroy(): Promise<void>;
}

const running = new Set<ChildProcess>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  onProcessExit(() => {
    for (const child of running) child.kill('SIGKILL');
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function launch(dir: string, port: number, bucket: string): Promise<ChildProcess> {
  const bin = join(repoRoot, 'node_modules', 's3rver', 'bin', 's3rver.js');
  // s3rver signs continuation tokens with a cipher OpenSSL 3 keeps in its legacy provider: without
  // the flag every second page of a listing is an HTTP 500.
  const args = ['--openssl-legacy-provider', bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--no-vhost-buckets', '--configure-bucket', bucket];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  running.add(child);
  child.once('exit', () => running.delete(child));
  const until = Date.now() + 20_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`s3rver exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`s3rver did not listen on ${port} within 20 s: ${stderr}`);
    }
    await sleep(100);
  }
  return child;
}

async function halt(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startS3Server(bucket = 'dbtool-test'): Promise<S3Server> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'dbtool-s3rver-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  try {
    child = await launch(dir, port, bucket);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  let destroyed = false;
  return {
    endpoint,
    port,
    bucket,
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' },
    url(prefix, extra = {}) {
      const q = new URLSearchParams({ endpoint, region: 'us-east-1', pathStyle: 'true', ...extra });
      return `s3://${bucket}/${prefix}?${q.toString().replace(/%3A/g, ':').replace(/%2F/g, '/')}`;
    },
    async stop() {
      await halt(child);
    },
    async restart() {
      await halt(child);
      child = await launch(dir, port, bucket);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await halt(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
