// The files of one backup on their way into the repository, shared by the three backup recipes:
// large files as chunks, small ones bundled, and the progress line fed with what was read.

import type { ProgressHandle } from '../../core/reporter.js';
import { ChunkWriter } from '../../repo/chunk-store.js';
import type { ChunkStats } from '../../repo/chunk-store.js';
import { FileBundler, isBundled, readUpTo } from '../../repo/file-bundler.js';
import type { ManifestFile } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';

export class BackupIntake {
  /** every entry added, in order: the manifest's file list */
  readonly files: ManifestFile[] = [];
  private readonly writer: ChunkWriter;
  private readonly bundler: FileBundler;
  private read = 0;

  /**
   * @param known chunk ids already in the repository
   * @param estimate bytes the source expects to send (0 when unknown: the progress shows what was read)
   */
  constructor(
    private readonly repo: Repository,
    known: Set<string>,
    private readonly progress: ProgressHandle,
    private readonly estimate = 0,
  ) {
    this.writer = new ChunkWriter(repo, known);
    this.bundler = new FileBundler(this.writer, repo.chunkSize, this.onBytes);
  }

  private readonly onBytes = (n: number) => {
    this.read += n;
    this.progress.update(this.read, Math.max(this.estimate, this.read));
  };

  /** An entry whose length the source declares (a tar entry); a small file is bundled. */
  async add(file: ManifestFile, data: AsyncIterable<Buffer> | undefined, size: number): Promise<void> {
    this.files.push(file);
    if (!data) return;
    if (isBundled(size, this.repo.chunkSize)) await this.bundler.add(file, data, size);
    else await this.writer.addFile(file, data, size, this.onBytes);
  }

  /** A file of unknown length (an xbstream file): bundled when it ends within a quarter of a chunk. */
  async addStreamed(file: ManifestFile, data: AsyncIterable<Buffer>): Promise<void> {
    this.files.push(file);
    const head = await readUpTo(data, this.repo.chunkSize / 4);
    if (head.whole && isBundled(head.whole.length, this.repo.chunkSize)) await this.bundler.addWhole(file, head.whole);
    else await this.writer.addFile(file, head.rest ?? [], undefined, this.onBytes);
  }

  /** A file kept in chunks of its own (a logical dump, which its restore reads chunk by chunk). */
  async addUnbundled(file: ManifestFile, data: AsyncIterable<Buffer>, size: number | undefined): Promise<void> {
    this.files.push(file);
    await this.writer.addFile(file, data, size, this.onBytes);
  }

  /** Wait until every file is stored; stops the progress line; what was read, added and stored. */
  async finish(): Promise<ChunkStats> {
    await this.bundler.flush();
    await this.writer.flush();
    this.progress.stop();
    return this.writer.stats;
  }
}
