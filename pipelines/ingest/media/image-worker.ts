/** Entry of an image pool worker: one libvips thread per process (the pool supplies the parallelism), no operation cache. */
import sharp from 'sharp';
import { serveTasks } from '../../shared/pool/worker-runtime.js';
import { runImageTask, type ImageTask } from './load-image.js';

sharp.concurrency(1);
sharp.cache(false);
serveTasks((task: ImageTask) => runImageTask(task));
