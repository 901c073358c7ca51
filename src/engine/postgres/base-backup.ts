// A physical backup over the replication protocol, as pg_basebackup takes it: BASE_BACKUP with
// the WAL it needs, turned into a stream of entries {path, type, mode, size, data}.
//
// PostgreSQL 15 sends: a result set (start LSN, timeline), a result set (tablespaces), then one
// COPY OUT whose CopyData messages start with a type byte: 'n' new archive (name, location),
// 'd' data of the current archive or of the manifest, 'p' progress (int8), 'm' manifest starts;
// then a result set with the stop LSN. A temporary replication slot on a second connection
// keeps the server from recycling the WAL between start and stop before it is sent.

import { Readable } from 'node:stream';
import type pg from 'pg';
import { extract as tarExtract } from 'tar-stream';
import type { Extract, Header } from 'tar-stream';
import { dbtoolError, messageOf } from '../../core/errors.js';
import { parseLsn } from '../../core/lsn.js';
import type { Lsn } from '../../core/lsn.js';
import { connectPg, mapPgError } from './connection.js';
import type { PgConnectionOptions } from './connection.js';
import { ReplicationQuery } from './replication-query.js';

export interface BackupEntry {
  /** path relative to the data directory; tablespace files under pg_tblspc/<oid>/ */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  size: number;
  mtime: Date;
  target?: string;
  /** the bytes of a file; must be read to the end before asking for the next entry */
  data?: AsyncIterable<Buffer>;
}

export interface ServerInfo {
  systemId: string;
  timeline: number;
  serverVersion: string;
  serverVersionNum: number;
  walSegmentSize: number;
}

export interface TablespaceInfo {
  oid: number;
  location: string;
  /** server's estimate in bytes */
  size: number;
}

export interface BackupStart extends ServerInfo {
  startLsn: Lsn;
  startTimeline: number;
  tablespaces: TablespaceInfo[];
  /** estimated bytes of the whole backup (data directory + tablespaces) */
  estimatedBytes: number;
}

export interface BackupStop {
  stopLsn: Lsn;
  stopTimeline: number;
}

export interface BaseBackupOptions {
  label: string;
  checkpoint: 'fast' | 'spread';
  /** kB/s the server may send at most (BASE_BACKUP MAX_RATE); undefined = unlimited */
  maxRateKbps?: number;
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

async function simpleReplicationQuery(client: pg.Client, text: string): Promise<Array<Array<string | null>>> {
  const q = new ReplicationQuery(text);
  client.query(q as unknown as pg.QueryConfig);
  const sets = await q.done;
  return sets[0]?.rows ?? [];
}

/** Server identity over a replication connection (IDENTIFY_SYSTEM and SHOW). */
export async function identifyServer(client: pg.Client): Promise<ServerInfo> {
  const [ident] = await simpleReplicationQuery(client, 'IDENTIFY_SYSTEM');
  const show = async (name: string) => (await simpleReplicationQuery(client, `SHOW ${name}`))[0]?.[0] ?? '';
  const segText = await show('wal_segment_size');
  return {
    systemId: ident?.[0] ?? '',
    timeline: Number(ident?.[1] ?? 0),
    serverVersion: await show('server_version'),
    serverVersionNum: Number(await show('server_version_num')),
    walSegmentSize: parseSize(segText),
  };
}

function parseSize(text: string): number {
  const m = /^(\d+)\s*(B|kB|MB|GB)?$/.exec(text.trim());
  if (!m) return 16 * 1024 * 1024;
  const mult = { B: 1, kB: 1024, MB: 1024 * 1024, GB: 1024 * 1024 * 1024 }[m[2] ?? 'B'] ?? 1;
  return Number(m[1]) * mult;
}

interface QueuedEntry {
  header: Header;
  stream: AsyncIterable<Buffer> & { resume(): unknown; readableEnded?: boolean };
  next: () => void;
}

/**
 * One tar archive of the backup. Entries are taken with tar-stream's 'entry' event into a queue
 * (its async iterator stalls when attached after the write buffer has filled).
 */
class Archive {
  readonly extract: Extract = tarExtract();
  private readonly queue: QueuedEntry[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private error: unknown;

  constructor(
    readonly name: string,
    /** path prefix of its entries: '' for the data directory, pg_tblspc/<oid>/ for a tablespace */
    readonly prefix: string,
  ) {
    this.extract.on('entry', (header, stream, next) => {
      this.queue.push({ header, stream: stream as unknown as QueuedEntry['stream'], next });
      this.notify();
    });
    this.extract.on('finish', () => {
      this.finished = true;
      this.notify();
    });
    this.extract.on('error', (e: unknown) => {
      this.error ??= e;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async take(): Promise<QueuedEntry | undefined> {
    for (;;) {
      if (this.error) throw this.error;
      const e = this.queue.shift();
      if (e) return e;
      if (this.finished) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/**
 * Copies of CopyData payloads, carved out of 1 MiB slabs: a buffer per message (tens of
 * thousands of 8–64 KiB allocations per GB) kept the garbage collector busy for most of a
 * second. A slab is never reused; it is freed once no copy in it is referenced.
 */
class CopySlab {
  private static readonly SIZE = 1024 * 1024;
  private slab = Buffer.alloc(0);
  private used = 0;

  copy(src: Buffer): Buffer {
    if (src.length > CopySlab.SIZE / 4) return Buffer.from(src);
    if (this.used + src.length > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(CopySlab.SIZE);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + src.length);
    src.copy(out);
    this.used += src.length;
    return out;
  }
}

export class BaseBackupSession {
  /** bytes the server reports as sent so far */
  progressBytes = 0;
  private readonly archives: Archive[] = [];
  private archiveWaiters: Array<() => void> = [];
  private current: Archive | undefined;
  private manifestParts: Buffer[] | undefined;
  private readonly slab = new CopySlab();
  private copyEnded = false;
  private awaitingDrain = false;
  private failure: unknown;
  private startResolve!: (v: BackupStart) => void;
  private startReject!: (e: unknown) => void;
  readonly started: Promise<BackupStart>;
  private query!: ReplicationQuery;
  private startInfo: BackupStart | undefined;

  private constructor(
    private readonly client: pg.Client,
    private readonly slotClient: pg.Client | undefined,
    private readonly server: ServerInfo,
    private readonly conn: PgConnectionOptions,
  ) {
    this.started = new Promise((resolve, reject) => {
      this.startResolve = resolve;
      this.startReject = reject;
    });
    this.started.catch(() => undefined);
  }

  /** Connect, reserve WAL, start BASE_BACKUP; resolves once the server has started the backup. */
  static async start(conn: PgConnectionOptions, options: BaseBackupOptions): Promise<BaseBackupSession> {
    const client = await connectPg(conn, 'replication');
    let slotClient: pg.Client | undefined;
    try {
      const server = await identifyServer(client).catch((e: unknown) => {
        throw mapPgError(e, conn, 'replication');
      });
      slotClient = await connectPg(conn, 'replication');
      const slot = `dbtool_${process.pid}_${Date.now().toString(36)}`;
      try {
        await simpleReplicationQuery(slotClient, `CREATE_REPLICATION_SLOT ${slot} TEMPORARY PHYSICAL RESERVE_WAL`);
      } catch (e) {
        // Without free slots the backup still works unless the WAL is recycled mid-way.
        process.emitWarning(`dbtool: could not create a temporary replication slot (${messageOf(e)}); WAL written during the backup could be recycled before it is sent: raise max_replication_slots`);
        await slotClient.end().catch(() => undefined);
        slotClient = undefined;
      }
      const session = new BaseBackupSession(client, slotClient, server, conn);
      session.begin(options);
      await session.started;
      return session;
    } catch (e) {
      await client.end().catch(() => undefined);
      await slotClient?.end().catch(() => undefined);
      throw mapPgError(e, conn, 'replication');
    }
  }

  get info(): BackupStart {
    if (!this.startInfo) throw dbtoolError('INTERNAL', 'backup not started');
    return this.startInfo;
  }

  private begin(options: BaseBackupOptions): void {
    const opts = [
      `LABEL ${quoteLiteral(options.label)}`,
      'PROGRESS',
      `CHECKPOINT ${quoteLiteral(options.checkpoint)}`,
      'WAL true',
      'WAIT false',
      "MANIFEST 'yes'",
      'TABLESPACE_MAP',
    ];
    if (options.maxRateKbps) opts.push(`MAX_RATE ${Math.max(32, Math.min(1048576, Math.round(options.maxRateKbps)))}`);
    this.query = new ReplicationQuery(`BASE_BACKUP (${opts.join(', ')})`, { onCopyData: (c) => this.onCopyData(c) }, (rs, index) => {
      if (index === 0) {
        const row = rs.rows[0] ?? [];
        this.startInfo = {
          ...this.server,
          startLsn: parseLsn(row[0] ?? ''),
          startTimeline: Number(row[1] ?? this.server.timeline),
          tablespaces: [],
          estimatedBytes: 0,
        };
      } else if (index === 1 && this.startInfo) {
        let total = 0;
        for (const row of rs.rows) {
          const size = Number(row[2] ?? 0) * 1024;
          total += size;
          if (row[0] !== null && row[0] !== undefined) this.startInfo.tablespaces.push({ oid: Number(row[0]), location: row[1] ?? '', size });
        }
        this.startInfo.estimatedBytes = total;
        this.startResolve(this.startInfo);
      } else if (index === 2) {
        this.endCopy();
      }
    });
    this.client.query(this.query as unknown as pg.QueryConfig);
    this.query.done.catch((e: unknown) => {
      const err = mapPgError(e, this.conn, 'replication');
      this.failure ??= err;
      this.startReject(err);
      this.current?.extract.destroy(err);
      for (const a of this.archives) a.extract.destroy(err);
      this.wakeArchiveWaiters();
    });
  }

  private onCopyData(chunk: Buffer): void {
    const type = chunk[0];
    if (type === 0x64 /* d */) {
      if (this.manifestParts) {
        this.manifestParts.push(Buffer.from(chunk.subarray(1)));
        return;
      }
      if (!this.current) throw new Error('archive data before any archive started');
      // Copy: the parser reuses its buffer once this handler returns.
      const ok = this.current.extract.write(this.slab.copy(chunk.subarray(1)));
      if (!ok && !this.awaitingDrain) {
        // Backpressure: stop reading the socket until the tar parser has room again.
        this.awaitingDrain = true;
        this.query.pause();
        this.current.extract.once('drain', () => {
          this.awaitingDrain = false;
          this.query.resume();
        });
      }
    } else if (type === 0x6e /* n */) {
      const nul1 = chunk.indexOf(0, 1);
      const nul2 = chunk.indexOf(0, nul1 + 1);
      const name = chunk.toString('utf8', 1, nul1);
      const location = chunk.toString('utf8', nul1 + 1, nul2 < 0 ? chunk.length : nul2);
      this.current?.extract.end(undefined);
      const oid = /^(\d+)\.tar$/.exec(name)?.[1];
      const archive = new Archive(name, location && oid ? `pg_tblspc/${oid}/` : '');
      this.current = archive;
      this.archives.push(archive);
      this.wakeArchiveWaiters();
    } else if (type === 0x70 /* p */) {
      this.progressBytes = Number(chunk.readBigInt64BE(1));
    } else if (type === 0x6d /* m */) {
      this.current?.extract.end(undefined);
      this.current = undefined;
      this.manifestParts = [];
    }
  }

  private endCopy(): void {
    this.current?.extract.end(undefined);
    this.current = undefined;
    this.copyEnded = true;
    this.wakeArchiveWaiters();
  }

  private wakeArchiveWaiters(): void {
    const w = this.archiveWaiters;
    this.archiveWaiters = [];
    for (const f of w) f();
  }

  private async nextArchive(index: number): Promise<Archive | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.archives[index]) return this.archives[index];
      if (this.copyEnded) return undefined;
      await new Promise<void>((resolve) => this.archiveWaiters.push(resolve));
    }
  }

  /** Every entry of every archive, then the backup_manifest. Read each file's data fully. */
  async *entries(): AsyncGenerator<BackupEntry> {
    for (let i = 0; ; i++) {
      const archive = await this.nextArchive(i);
      if (!archive) break;
      try {
        for (;;) {
          const entry = await archive.take();
          if (!entry) break;
          const mapped = mapHeader(archive.prefix, entry.header);
          if (mapped?.type === 'file') {
            mapped.data = entry.stream;
            yield mapped;
            // The consumer has read the data; a file it skipped is drained here.
            if (!entry.stream.readableEnded) for await (const _ of entry.stream) void _;
          } else {
            entry.stream.resume();
            if (mapped) yield mapped;
          }
          entry.next();
        }
      } catch (e) {
        throw this.failure ?? dbtoolError('SERVER_PROTOCOL', `reading the backup stream failed (${messageOf(e)})`, 'Retry the backup', e);
      }
    }
    if (this.failure) throw this.failure;
    await this.query.done.catch(() => undefined);
    if (this.failure) throw this.failure;
    if (this.manifestParts) {
      const manifest = Buffer.concat(this.manifestParts);
      yield { path: 'backup_manifest', type: 'file', mode: 0o600, size: manifest.length, mtime: new Date(), data: Readable.from([manifest]) };
    }
  }

  /** Wait for the server to finish; returns the stop LSN. Releases the connections. */
  async finish(): Promise<BackupStop> {
    try {
      const sets = await this.query.done;
      const last = sets[sets.length - 1];
      const row = last?.rows[0];
      if (!row || sets.length < 3) throw dbtoolError('SERVER_PROTOCOL', 'the server ended the backup without its stop position', 'Retry the backup; check the server log');
      return { stopLsn: parseLsn(row[0] ?? ''), stopTimeline: Number(row[1] ?? 0) };
    } catch (e) {
      throw mapPgError(e, this.conn, 'replication');
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
    await this.slotClient?.end().catch(() => undefined);
  }
}

function mapHeader(prefix: string, h: Header): BackupEntry | undefined {
  let path = h.name.replace(/^\.\//, '').replace(/\/+$/, '');
  if (!path) return undefined;
  path = prefix + path;
  const mtime = h.mtime ?? new Date(0);
  const mode = (h.mode ?? 0o600) & 0o7777;
  if (h.type === 'file' || h.type === 'contiguous-file') return { path, type: 'file', mode, size: h.size ?? 0, mtime };
  if (h.type === 'directory') return { path, type: 'directory', mode, size: 0, mtime };
  if (h.type === 'symlink') return { path, type: 'symlink', mode, size: 0, mtime, target: h.linkname ?? '' };
  return undefined;
}
