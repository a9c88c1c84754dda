import { join } from 'node:path';
import { FILE_FORMAT_DIRS } from './outputs.js';
import { sha256Hex } from '../../shared/hash.js';
import { unitKey } from '../../shared/runner/run-stage.js';
import type { StageContext, WorkUnit } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import type { UpstreamUnit } from '../../shared/runner/upstream.js';
import { readSamples, type RowRange } from '../../shared/store/read-samples.js';
import { interleavedRow } from './interleaved.js';
import { loadImages, MediaError, type SampleImage } from './media.js';
import type { FileRow, MemberRow } from './outputs.js';
import type { PretrainingFormat } from './formats.js';
import { qualityOf } from './quality.js';
import { conversationOf, JsonArrayFile, writeSftImage } from './sft.js';
import { TarShardWriter } from './tar-shards.js';
import { sampleKey, webdatasetMembers, type Placement } from './webdataset.js';

/** Folders (under the export stage folder) holding files the runner does not write itself. */
export { FILE_FORMAT_DIRS } from './outputs.js';

function groupDir(format: keyof typeof FILE_FORMAT_DIRS, kind: string, bucket: string): string {
  return join(FILE_FORMAT_DIRS[format], `kind=${kind}`, `quality=${bucket}`);
}

/**
 * Exports one unit (a slice of an upstream unit, see plan.ts) to the pre-training formats. Tar shards and SFT JSON files get names
 * unique to the unit and its inputs (`<unit key>-<input hash>`), are written atomically, and are
 * listed in the unit's `files` output, which the runner commits with the unit: files no committed
 * unit lists are garbage (see finalize.ts), so a killed run leaves nothing a reader would trust.
 */
export async function exportPretrainingUnit(unit: WorkUnit<UpstreamUnit & { range?: RowRange }>, ctx: StageContext, sink: UnitSink, formats: readonly PretrainingFormat[]): Promise<void> {
  const config = ctx.config.export.pretraining;
  const stageDir = ctx.layout.stageDir('export');
  const stem = `${unitKey(unit.id)}-${sha256Hex(`${unit.fingerprint}:${unit.configHash}`).slice(0, 8)}`;
  const tars = new Map<string, { writer: TarShardWriter; dir: string; kind: string; bucket: string }>();
  const jsons = new Map<string, { file: JsonArrayFile; rel: string; kind: string; bucket: string }>();
  const sftImages = new Set<string>();
  const keys = new Set<string>();

  const samples = await readSamples(ctx.conn, unit.payload.files, unit.payload.range);
  sink.inputs(samples.length);
  try {
    for (const sample of samples) {
      const ref = { sample_id: sample.id, source_uri: sample.source.uri, locator: sample.source.locator };
      if (!config.kinds.includes(sample.kind)) {
        sink.drop(ref, `kind_not_exported:${sample.kind}`);
        continue;
      }
      const quality = qualityOf(sample, config.quality);
      if (quality.kind === 'invalid') {
        sink.quarantine(ref, 'invalid_quality_score', { score_path: config.quality.score, value: quality.value });
        continue;
      }
      if (quality.kind === 'below_floor') {
        sink.drop(ref, 'below_quality_floor', { score: quality.score, floor: quality.floor });
        continue;
      }
      const key = sampleKey(sample.id);
      if (keys.has(key)) {
        sink.drop(ref, 'duplicate_sample_id', { key });
        continue;
      }
      let images: SampleImage[];
      try {
        images = await loadImages(sample, ctx.blobs);
      } catch (err) {
        if (!(err instanceof MediaError)) throw err;
        sink.quarantine(ref, err.reason, { message: err.message });
        continue;
      }
      keys.add(key);
      const placement: Placement = { bucket: quality.bucket, score: quality.score };
      const member = (format: string, file: string | null, k: string | null, offset: number | null): MemberRow => ({
        format,
        sample_id: sample.id,
        kind: sample.kind,
        quality: placement.bucket,
        quality_score: placement.score,
        file,
        key: k,
        offset,
      });
      const took: string[] = [];

      if (formats.includes('webdataset') && config.webdataset.kinds.includes(sample.kind)) {
        const dir = groupDir('webdataset', sample.kind, placement.bucket);
        let group = tars.get(dir);
        if (!group) tars.set(dir, (group = { writer: new TarShardWriter(join(stageDir, dir), stem, config.webdataset.shardBytes), dir, kind: sample.kind, bucket: placement.bucket }));
        const at = await group.writer.add(key, sample.id, webdatasetMembers(sample, key, images, placement));
        sink.emit('members', member('webdataset', join(dir, at.file), key, at.offset));
        took.push('webdataset');
      }
      if (formats.includes('interleaved') && config.interleaved.kinds.includes(sample.kind)) {
        sink.emit('interleaved', interleavedRow(sample, images, placement));
        sink.emit('members', member('interleaved', null, sample.id, null));
        took.push('interleaved');
      }
      if (formats.includes('sft') && config.sft.kinds.includes(sample.kind)) {
        const turns = conversationOf(sample, images, config);
        if (turns) {
          const paths: string[] = [];
          for (const img of images) {
            const rel = await writeSftImage(join(stageDir, FILE_FORMAT_DIRS.sft), img);
            sftImages.add(rel);
            paths.push(rel);
          }
          const dir = groupDir('sft', sample.kind, placement.bucket);
          let group = jsons.get(dir);
          if (!group) {
            const rel = join(dir, `${stem}.json`);
            jsons.set(dir, (group = { file: new JsonArrayFile(join(stageDir, rel)), rel, kind: sample.kind, bucket: placement.bucket }));
          }
          const offset = group.file.count;
          await group.file.add({ id: sample.id, image: paths.length === 1 ? paths[0] : paths, conversations: turns, kind: sample.kind, quality: placement.bucket });
          sink.emit('members', member('sft', group.rel, sample.id, offset));
          took.push('sft');
        }
      }
      if (took.length === 0) sink.drop(ref, 'no_format_for_sample', { kind: sample.kind, formats, images: images.length, has_task: sample.task !== null });
      else sink.markKept(ref, 'exported', { formats: took, quality: placement.bucket, score: placement.score });
    }
    for (const group of tars.values()) {
      for (const shard of await group.writer.close()) {
        const common = { format: 'webdataset', kind: group.kind, quality: group.bucket };
        sink.emit('files', { ...common, path: join(group.dir, shard.file), role: 'shard', samples: shard.samples, bytes: shard.bytes } satisfies FileRow);
        sink.emit('files', { ...common, path: join(group.dir, shard.index), role: 'index', samples: shard.samples, bytes: null } satisfies FileRow);
      }
    }
    for (const group of jsons.values()) {
      await group.file.close();
      sink.emit('files', { format: 'sft', path: group.rel, role: 'records', kind: group.kind, quality: group.bucket, samples: group.file.count, bytes: group.file.bytes } satisfies FileRow);
    }
    for (const rel of sftImages) sink.emit('files', { format: 'sft', path: join(FILE_FORMAT_DIRS.sft, rel), role: 'image', kind: null, quality: null, samples: null, bytes: null } satisfies FileRow);
  } catch (err) {
    for (const group of tars.values()) await group.writer.abort();
    for (const group of jsons.values()) await group.file.abort();
    throw err;
  }
}
