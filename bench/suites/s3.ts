// Suite `s3` (issue 5): full backup and restore into a posix repository and into an S3 repository
// on a local s3rver (the test harness's), alternating on the shared pgbench cluster; throughput of
// each and the S3/posix ratio (target ≥ 0.8).

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { startS3Server } from '../../test/harness/s3-server.js';
import { du, log, mdTable, round } from '../lib.js';
import type { SuiteResult } from '../lib.js';
import { comparePhysical } from './physical-pair.js';

const TARGET = 0.8;

/** Delete every object of a storage, 16 at a time (s3rver has no prefix delete). */
async function emptyStorage(storage: Storage): Promise<void> {
  const keys: string[] = [];
  for await (const o of storage.list('')) keys.push(o.key);
  const next = () => keys.pop();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let k = next(); k !== undefined; k = next()) await storage.delete(k);
    }),
  );
}

export async function s3Suite(): Promise<SuiteResult> {
  const s3 = await startS3Server('dbtool-bench');
  const creds = { accessKeyId: s3.env.AWS_ACCESS_KEY_ID!, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY! };
  const withStorage = async <T>(url: string, fn: (s: Storage) => Promise<T>): Promise<T> => {
    const storage = openStorage(url, '/', { s3: creds });
    try {
      return await fn(storage);
    } finally {
      await storage.close();
    }
  };
  try {
    const r = await comparePhysical('s3', [
      {
        name: 'posix',
        location: (work, n) => join(work, `posix-repo-${n}`),
        storedBytes: (repo) => du(join(repo, 'chunks')),
        remove: (repo) => rm(repo, { recursive: true, force: true }),
      },
      {
        name: 's3',
        location: (_work, n) => s3.url(`bench-${n}`),
        env: s3.env,
        storedBytes: (url) =>
          withStorage(url, async (s) => {
            let n = 0;
            for await (const o of s.list('chunks/')) n += o.size;
            return n;
          }),
        remove: (url) => withStorage(url, emptyStorage),
      },
    ]);
    const p = r.variants.posix!;
    const s = r.variants.s3!;
    const backupRatio = round(s.backupMBps / p.backupMBps);
    const restoreRatio = round(s.restoreMBps / p.restoreMBps);
    const json = {
      ...r,
      ratios: { backupS3VsPosix: backupRatio, restoreS3VsPosix: restoreRatio },
      target: `S3 throughput ≥ ${TARGET}× posix`,
      pass: backupRatio >= TARGET && restoreRatio >= TARGET,
    };
    log(`s3: backup S3/posix ${backupRatio}, restore ${restoreRatio}`);
    const md =
      `pgbench database ${r.databaseMB} MB, median of ${r.runs}; repository on s3rver (localhost) vs a local directory\n\n` +
      mdTable(
        ['repository', 'backup s', 'backup MB/s', 'restore s', 'restore MB/s', 'stored MB', 'peak RSS MB'],
        Object.entries(r.variants).map(([n, v]) => [n, v.backupSeconds, v.backupMBps, v.restoreSeconds, v.restoreMBps, v.storedMB, v.peakRssMB]),
      ) +
      `\n\nS3/posix throughput: backup ${backupRatio}, restore ${restoreRatio} (target ≥ ${TARGET}): ${json.pass ? 'met' : 'NOT met'}\n`;
    return { json, md };
  } finally {
    await s3.destroy();
  }
}
