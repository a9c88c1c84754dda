/** Entry of a filter image worker: one libvips thread per process (the pool supplies the parallelism), no operation cache. */
import sharp from 'sharp';
import { serveTasks } from '../shared/pool/worker-runtime.js';
import { imageFeatures, type ImageFeatureTask } from './image-features.js';

sharp.concurrency(1);
sharp.cache(false);
serveTasks((task: ImageFeatureTask) => imageFeatures(task));
