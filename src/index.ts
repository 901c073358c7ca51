// The library API: what the CLI uses, usable from code too.

export { backup } from './command/backup/index.js';
export type { BackupOptions } from './command/backup/index.js';
export { restore } from './command/restore/index.js';
export type { RestoreOptions, RestoreResult } from './command/restore/index.js';
export { info } from './command/info/index.js';
export type { InfoReport } from './command/info/index.js';
export { verify } from './command/verify/index.js';
export type { VerifyReport } from './command/verify/index.js';
export { restoreTest } from './command/verify/restore-test.js';
export type { RestoreTestReport } from './command/verify/restore-test.js';
export { check } from './command/check/index.js';
export { expire } from './command/expire/index.js';
export type { ExpireResult } from './command/expire/index.js';
export type { RetentionPolicy } from './command/expire/plan.js';
export { walPush } from './command/wal-push/index.js';
export { walGet } from './command/wal-get/index.js';
export { repoInit } from './command/repo-init/index.js';
export { repoPasswd } from './command/repo-passwd/index.js';
export { Repository } from './repo/repository.js';
export { openStorage } from './storage/open-storage.js';
export type { Storage } from './storage/storage.js';
export { DbtoolError, catalogue } from './core/errors.js';
export type { ErrorCode } from './core/errors.js';
export { resolveSettings } from './config/settings.js';
export { silentReporter } from './core/reporter.js';
export type { Reporter } from './core/reporter.js';
