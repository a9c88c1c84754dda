import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Sample } from '../../../schemas/sample.js';
import type { PretrainingConfig } from './config.js';
import { promptFor } from './prompts.js';
import type { SampleImage } from './media.js';
import { sampleText } from './webdataset.js';

export interface Turn {
  from: 'human' | 'gpt';
  value: string;
}

/**
 * A LLaVA / ShareGPT conversation: the human turn is one `<image>` line per image, then the prompt
 * template for the sample's kind with `{question}` filled in; the answer is the task's ground truth as
 * GLM writes it (boxes `[[x1,y1,x2,y2]]` on 0–999 inside `<|begin_of_box|>…<|end_of_box|>`). A sample
 * without a task (a caption, plain OCR text) answers with its text. Null when there is nothing to learn.
 */
export function conversationOf(sample: Sample, images: SampleImage[], config: PretrainingConfig): Turn[] | null {
  if (images.length === 0) return null;
  const template = promptFor(config, sample.kind);
  const lead = '<image>\n'.repeat(images.length);
  if (sample.task) {
    const answer = sample.task.answer.trim();
    if (!answer) return null;
    return [
      { from: 'human', value: lead + template.replaceAll('{question}', sample.task.question) },
      { from: 'gpt', value: answer },
    ];
  }
  const text = sampleText(sample).trim();
  if (!text || template.includes('{question}')) return null;
  return [
    { from: 'human', value: lead + template },
    { from: 'gpt', value: text },
  ];
}

/** Relative path of an image in the SFT image folder: content-addressed, so each image is written once. */
export function sftImagePath(img: SampleImage): string {
  return `images/${img.media.id.slice(0, 2)}/${img.media.id}.${img.ext}`;
}

/** Writes an image under `root` unless it is there already (temp name, then rename). */
export async function writeSftImage(root: string, img: SampleImage): Promise<string> {
  const rel = sftImagePath(img);
  const path = join(root, rel);
  if (!existsSync(path)) {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, img.bytes);
    await rename(tmp, path);
  }
  return rel;
}

/** A LLaVA JSON file (one array of records) streamed to a temp file and renamed when complete. */
export class JsonArrayFile {
  private handle: FileHandle | null = null;
  private tmp = '';
  count = 0;
  bytes = 0;

  constructor(readonly path: string) {}

  async add(record: object): Promise<void> {
    if (!this.handle) {
      await mkdir(dirname(this.path), { recursive: true });
      this.tmp = join(dirname(this.path), `.${this.path.split('/').pop()}.tmp`);
      this.handle = await open(this.tmp, 'w');
      await this.write('[\n');
    }
    await this.write((this.count ? ',\n' : '') + JSON.stringify(record));
    this.count++;
  }

  async close(): Promise<void> {
    if (!this.handle) return;
    await this.write('\n]\n');
    await this.handle.sync();
    await this.handle.close();
    this.handle = null;
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    if (!this.handle) return;
    await this.handle.close();
    this.handle = null;
    await rm(this.tmp, { force: true });
  }

  private async write(text: string): Promise<void> {
    const buf = Buffer.from(text);
    await (this.handle as FileHandle).write(buf);
    this.bytes += buf.length;
  }
}
