// `dbtool info`: backups, archive range per timeline, and the restorable window, as text or as
// the JSON API of DESIGN.md §5 (field names there are stable).

import { formatLsn, segmentName } from '../../core/lsn.js';
import { chunkLength } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { listBinlogs } from '../../repo/binlog-archive.js';
import { mysqlRestorableWindow, summariseBinlogs } from '../restore/mysql-plan.js';
import type { BinlogArchiveSummary } from '../restore/mysql-plan.js';
import { loadCatalog } from './catalog.js';

export interface InfoBackup {
  label: string;
  type: Manifest['type'];
  parent: string | null;
  startTime: string;
  stopTime: string;
  engine: Manifest['engine'];
  startLsn: string | undefined;
  stopLsn: string | undefined;
  timeline: number | undefined;
  serverVersion: string;
  systemId: string;
  databaseBytes: number;
  readBytes: number;
  newBytes: number;
  storedBytes: number;
  /** plaintext bytes of chunks no other backup references: what deleting this one would free */
  uniqueBytes: number;
  files: number;
  /** logical backups: the databases the dump holds */
  databases?: string[];
  /** MySQL backups: checkpoint LSNs (decimal) and the binlog coordinates of the consistent point */
  mysql?: { fromLsn: string; toLsn: string; binlog?: { file: string; position: number; gtid?: string } };
}

export interface InfoArchiveRange {
  timeline: number;
  from: string;
  to: string;
  segments: number;
  /** segments missing between from and to */
  gaps: Array<{ from: string; to: string }>;
  histories: string[];
}

export interface InfoChain {
  /** the full backup the chain starts from (or the oldest backup whose parent is gone) */
  root: string;
  /** every backup based on it, directly or through others, oldest first */
  members: string[];
}

export interface InfoReport {
  repository: string;
  /** objects are encrypted (repo init --encrypt) */
  encrypted: boolean;
  source: string;
  backups: InfoBackup[];
  chains: InfoChain[];
  archive: InfoArchiveRange[];
  restorableWindow: { from: string; to: string; fromLsn: string; toLsn: string; timeline: number } | null;
  /** MySQL sources: the archived binlogs, and the times a restore can reach */
  binlogs?: BinlogArchiveSummary | null;
  binlogWindow?: { from: string; to: string } | null;
}

/** Group backups by the full (or orphaned) backup their parent links lead to. */
export function chainsOf(manifests: Array<Pick<Manifest, 'label' | 'parent'>>): InfoChain[] {
  const byLabel = new Map(manifests.map((m) => [m.label, m]));
  const rootOf = (label: string): string => {
    let cur = byLabel.get(label);
    const seen = new Set<string>();
    while (cur?.parent && byLabel.has(cur.parent) && !seen.has(cur.label)) {
      seen.add(cur.label);
      cur = byLabel.get(cur.parent);
    }
    return cur?.label ?? label;
  };
  const chains = new Map<string, string[]>();
  for (const m of [...manifests].sort((a, b) => (a.label < b.label ? -1 : 1))) {
    const root = rootOf(m.label);
    if (root === m.label) chains.set(root, chains.get(root) ?? []);
    else chains.set(root, [...(chains.get(root) ?? []), m.label]);
  }
  return [...chains].map(([root, members]) => ({ root, members }));
}

/** Per backup, the plaintext bytes of chunks that only it references. */
export function uniqueBytesPerBackup(manifests: Manifest[]): Map<string, number> {
  const owners = new Map<string, { count: number; label: string; size: number }>();
  for (const m of manifests) {
    const seen = new Set<string>();
    for (const f of m.files) {
      (f.chunks ?? []).forEach((id, i) => {
        if (seen.has(id)) return;
        seen.add(id);
        const size = chunkLength(m.chunkSize, f, i);
        const o = owners.get(id);
        if (o) o.count++;
        else owners.set(id, { count: 1, label: m.label, size });
      });
    }
  }
  const out = new Map<string, number>(manifests.map((m) => [m.label, 0]));
  for (const o of owners.values()) if (o.count === 1) out.set(o.label, (out.get(o.label) ?? 0) + o.size);
  return out;
}

export async function info(repo: Repository, source: string): Promise<InfoReport> {
  const catalog = await loadCatalog(repo, source);
  const unique = uniqueBytesPerBackup(catalog.manifests);
  const backups: InfoBackup[] = catalog.manifests.map((m) => ({
    label: m.label,
    type: m.type,
    parent: m.parent,
    startTime: m.startTime,
    stopTime: m.stopTime,
    engine: m.engine,
    startLsn: m.postgres?.startLsn,
    stopLsn: m.postgres?.stopLsn,
    timeline: m.postgres?.timeline,
    serverVersion: m.server.version,
    systemId: m.server.systemId,
    databaseBytes: m.bytes.database,
    readBytes: m.bytes.read,
    newBytes: m.bytes.new,
    storedBytes: m.bytes.stored,
    uniqueBytes: unique.get(m.label) ?? 0,
    files: m.files.length,
    ...(m.logical ? { databases: m.logical.databases } : {}),
    ...(m.mysql ? { mysql: { fromLsn: m.mysql.fromLsn, toLsn: m.mysql.toLsn, ...(m.mysql.binlog ? { binlog: m.mysql.binlog } : {}) } } : {}),
  }));

  const seg = catalog.view.walSegmentSize;
  const byTimeline = new Map<number, bigint[]>();
  for (const s of catalog.view.segments) {
    const list = byTimeline.get(s.timeline) ?? [];
    list.push(s.segno);
    byTimeline.set(s.timeline, list);
  }
  const timelines = new Set<number>([...byTimeline.keys(), ...catalog.view.histories.keys()]);
  const archive: InfoArchiveRange[] = [...timelines].sort((a, b) => a - b).map((tli) => {
    const segs = (byTimeline.get(tli) ?? []).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const gaps: Array<{ from: string; to: string }> = [];
    for (let i = 1; i < segs.length; i++) {
      if (segs[i]! > segs[i - 1]! + 1n) gaps.push({ from: segmentName(tli, segs[i - 1]! + 1n, seg), to: segmentName(tli, segs[i]! - 1n, seg) });
    }
    return {
      timeline: tli,
      from: segs.length ? segmentName(tli, segs[0]!, seg) : '',
      to: segs.length ? segmentName(tli, segs[segs.length - 1]!, seg) : '',
      segments: segs.length,
      gaps,
      histories: catalog.archive.filter((f) => f.kind === 'history' && f.timeline === tli).map((f) => f.name),
    };
  });

  const w = catalog.window;
  const mysql: Pick<InfoReport, 'binlogs' | 'binlogWindow'> = {};
  if (catalog.manifests.some((m) => m.mysql)) {
    const archived = (await listBinlogs(repo, source)).map((b) => ({ name: b.name, seq: b.seq, size: b.size, firstTime: new Date(b.firstTime), lastTime: new Date(b.lastTime) }));
    mysql.binlogs = summariseBinlogs(archived) ?? null;
    mysql.binlogWindow = mysqlRestorableWindow(catalog.manifests, archived) ?? null;
  }
  return {
    ...mysql,
    repository: repo.storage.description,
    encrypted: repo.encrypted,
    source,
    backups,
    // A logical backup is no chain's member: it has no parent and nothing is based on it.
    chains: chainsOf(catalog.manifests.filter((m) => m.type !== 'logical')),
    archive,
    restorableWindow: w ? { from: w.from.time.toISOString(), to: w.to.time.toISOString(), fromLsn: formatLsn(w.from.lsn), toLsn: formatLsn(w.to.lsn), timeline: w.to.timeline } : null,
  };
}
