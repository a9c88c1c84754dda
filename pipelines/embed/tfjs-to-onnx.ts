import { toFloat16 } from './fp16.js';
import { encodeModel, GraphBuilder, type Attr } from '../shared/onnx/onnx-writer.js';

/**
 * Converts a Keras functional model in the tfjs "layers" format (model.json topology + weight
 * manifest + weight bytes) into an ONNX graph, for the layer types a MobileNet-style CNN uses:
 * InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU (with max_value),
 * Activation, Add, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dense, Dropout. Anything
 * else is an error naming the layer, never a silently different graph.
 *
 * The ONNX model takes uint8 NHWC pixels (`pixels`, [batch, H, W, 3]); the cast, the rescale the
 * tfjs caller applied (`x / 255`) and the transpose to NCHW are inside the graph.
 */

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; min?: number; scale?: number };
}

export interface TfjsLayersModel {
  modelTopology: { model_config?: { config: KerasModelConfig }; config?: KerasModelConfig };
  weightsManifest: Array<{ paths: string[]; weights: TfjsWeightSpec[] }>;
}

interface KerasModelConfig {
  layers: KerasLayer[];
  input_layers: Array<[string, number, number]>;
  output_layers: Array<[string, number, number]>;
}

interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: Array<Array<[string, number, number, unknown]>>;
}

export interface ConvertOptions {
  /** Multiplier applied to the pixels after the cast (tfjs callers divide by 255). */
  rescale: number;
  /** Layer whose output is also exposed as `embedding` (flattened to [batch, features]). */
  embeddingLayer: string;
  /** Name of the model's final output in the ONNX graph. */
  outputName: string;
  metadata?: Record<string, string>;
  /** `fp16`: weights stored and ops computed in float16, inputs and outputs unchanged (fp16.ts). */
  precision?: 'fp32' | 'fp16';
}

/** Dequantises the manifest's concatenated weight bytes into float32 arrays by name. */
export function decodeWeights(specs: TfjsWeightSpec[], data: Uint8Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let offset = 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    const q = spec.quantization;
    if (!q) {
      if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: dtype ${spec.dtype} not supported`);
      for (let i = 0; i < count; i++) values[i] = view.getFloat32(offset + 4 * i, true);
      offset += 4 * count;
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const width = q.dtype === 'uint8' ? 1 : 2;
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      for (let i = 0; i < count; i++) values[i] = (width === 1 ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true)) * scale + min;
      offset += width * count;
    } else {
      for (let i = 0; i < count; i++) values[i] = halfToFloat(view.getUint16(offset + 2 * i, true));
      offset += 2 * count;
    }
    out.set(spec.name, values);
  }
  if (offset !== data.byteLength) throw new Error(`weights: manifest covers ${offset} bytes, data has ${data.byteLength}`);
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Reorders a [d0, d1, d2, d3] array into the axis order `perm`. */
function transpose4(src: Float32Array, dims: number[], perm: number[]): Float32Array {
  const [a, b, c, d] = dims as [number, number, number, number];
  const strides = [b * c * d, c * d, d, 1];
  const outDims = perm.map((p) => dims[p] as number);
  const out = new Float32Array(src.length);
  let k = 0;
  const idx = [0, 0, 0, 0];
  for (idx[0] = 0; idx[0] < (outDims[0] as number); idx[0]++)
    for (idx[1] = 0; idx[1] < (outDims[1] as number); idx[1]++)
      for (idx[2] = 0; idx[2] < (outDims[2] as number); idx[2]++)
        for (idx[3] = 0; idx[3] < (outDims[3] as number); idx[3]++) {
          let s = 0;
          for (let j = 0; j < 4; j++) s += (idx[j] as number) * (strides[perm[j] as number] as number);
          out[k++] = src[s] as number;
        }
  void a;
  return out;
}

function pair(v: unknown, name: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [Number(v[0]), Number(v[1])];
  throw new Error(`${name}: expected a pair, got ${JSON.stringify(v)}`);
}

/** Converts the model; returns the ONNX bytes. */
export function convertTfjsLayers(model: TfjsLayersModel, weightData: Uint8Array, opts: ConvertOptions): Uint8Array {
  const config = model.modelTopology.model_config?.config ?? model.modelTopology.config;
  if (!config) throw new Error('tfjs model: no model_config in the topology');
  const specs = model.weightsManifest.flatMap((g) => g.weights);
  const weights = decodeWeights(specs, weightData);
  const w = (layer: string, name: string): Float32Array => {
    const v = weights.get(`${layer}/${name}`);
    if (!v) throw new Error(`weight ${layer}/${name} missing`);
    return v;
  };
  const shapeOf = (layer: string, name: string): number[] => specs.find((s) => s.name === `${layer}/${name}`)?.shape ?? [];
  const g = new GraphBuilder();
  const values = new Map<string, string>(); // keras layer → ONNX value (NCHW for 4-d tensors)
  let inputShape: number[] = [];
  const activation = (x: string, act: unknown, layer: string): string => {
    if (act === 'linear' || act === undefined || act === null) return x;
    if (act === 'relu') return g.op('Relu', [x]);
    if (act === 'relu6') return g.op('Clip', [x, g.f32('zero', [], [0]), g.f32('six', [], [6])]);
    if (act === 'softmax') return g.op('Softmax', [x], { axis: { i: -1 } });
    if (act === 'sigmoid') return g.op('Sigmoid', [x]);
    throw new Error(`layer ${layer}: activation ${String(act)} not supported`);
  };
  for (const layer of config.layers) {
    const c = layer.config;
    const ins = (layer.inbound_nodes[0] ?? []).map(([name]) => {
      const v = values.get(name);
      if (!v) throw new Error(`layer ${layer.name}: input ${name} not converted yet`);
      return v;
    });
    const x = ins[0] as string;
    let y: string;
    switch (layer.class_name) {
      case 'InputLayer': {
        inputShape = (c.batch_input_shape as Array<number | null>).slice(1).map(Number);
        const cast = g.op('Cast', ['pixels'], { to: { i: 1 } });
        const scaled = opts.rescale === 1 ? cast : g.op('Mul', [cast, g.f32('rescale', [], [opts.rescale])]);
        y = g.op('Transpose', [scaled], { perm: { ints: [0, 3, 1, 2] } });
        break;
      }
      case 'ZeroPadding2D': {
        const p = c.padding as number[][] | number;
        const [[t, b], [l, r]] = typeof p === 'number' ? [[p, p], [p, p]] : (p as [[number, number], [number, number]]);
        y = g.op('Pad', [x, g.i64('pads', [0, 0, t, l, 0, 0, b, r])], { mode: { s: 'constant' } });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = layer.class_name === 'DepthwiseConv2D';
        const kname = depthwise ? 'depthwise_kernel' : 'kernel';
        const [kh, kw, cin, cout] = shapeOf(layer.name, kname) as [number, number, number, number];
        if (pair(c.dilation_rate ?? 1, 'dilation').some((d) => d !== 1)) throw new Error(`layer ${layer.name}: dilation not supported`);
        // Keras [kh, kw, in, out] → ONNX [out, in, kh, kw]; depthwise [kh, kw, in, mult] → [in·mult, 1, kh, kw]
        const kernel = transpose4(w(layer.name, kname), [kh, kw, cin, cout], depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]);
        const wName = g.f32(`${layer.name}_W`, depthwise ? [cin * cout, 1, kh, kw] : [cout, cin, kh, kw], kernel);
        const inputs = [x, wName];
        if (c.use_bias) inputs.push(g.f32(`${layer.name}_B`, [depthwise ? cin * cout : cout], w(layer.name, depthwise ? 'depthwise_bias' : 'bias')));
        const attrs: Record<string, Attr> = { kernel_shape: { ints: [kh, kw] }, strides: { ints: pair(c.strides, 'strides') } };
        if (depthwise) attrs.group = { i: cin };
        if (c.padding === 'same') attrs.auto_pad = { s: 'SAME_UPPER' };
        else if (c.padding === 'valid') attrs.pads = { ints: [0, 0, 0, 0] };
        else throw new Error(`layer ${layer.name}: padding ${String(c.padding)}`);
        y = activation(g.op('Conv', inputs, attrs), c.activation, layer.name);
        break;
      }
      case 'BatchNormalization': {
        const axis = c.axis as number | number[];
        if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3)))) throw new Error(`layer ${layer.name}: axis ${JSON.stringify(axis)}`);
        const mean = w(layer.name, 'moving_mean');
        const n = mean.length;
        const gamma = c.scale === false ? new Float32Array(n).fill(1) : w(layer.name, 'gamma');
        const beta = c.center === false ? new Float32Array(n) : w(layer.name, 'beta');
        y = g.op('BatchNormalization', [x, g.f32('gamma', [n], gamma), g.f32('beta', [n], beta), g.f32('mean', [n], mean), g.f32('var', [n], w(layer.name, 'moving_variance'))], {
          epsilon: { f: Number(c.epsilon ?? 1e-3) },
        });
        break;
      }
      case 'ReLU': {
        if (Number(c.negative_slope ?? 0) !== 0 || Number(c.threshold ?? 0) !== 0) throw new Error(`layer ${layer.name}: leaky/thresholded ReLU not supported`);
        y = c.max_value == null ? g.op('Relu', [x]) : g.op('Clip', [x, g.f32('zero', [], [0]), g.f32('max', [], [Number(c.max_value)])]);
        break;
      }
      case 'Activation':
        y = activation(x, c.activation, layer.name);
        break;
      case 'Add':
        y = ins.slice(1).reduce((acc, v) => g.op('Add', [acc, v]), x);
        break;
      case 'AveragePooling2D': {
        const attrs: Record<string, Attr> = { kernel_shape: { ints: pair(c.pool_size, 'pool_size') }, strides: { ints: pair(c.strides ?? c.pool_size, 'strides') } };
        if (c.padding === 'same') attrs.auto_pad = { s: 'SAME_UPPER' };
        y = g.op('AveragePool', [x], attrs);
        break;
      }
      case 'GlobalAveragePooling2D':
        y = g.op('Flatten', [g.op('GlobalAveragePool', [x])], { axis: { i: 1 } });
        break;
      case 'Flatten':
        // Keras flattens NHWC: back to channels-last first so the feature order matches the Dense kernel
        y = g.op('Flatten', [g.op('Transpose', [x], { perm: { ints: [0, 2, 3, 1] } })], { axis: { i: 1 } });
        break;
      case 'Dense': {
        const [fin, fout] = shapeOf(layer.name, 'kernel') as [number, number];
        let z = g.op('MatMul', [x, g.f32(`${layer.name}_W`, [fin, fout], w(layer.name, 'kernel'))]);
        if (c.use_bias !== false) z = g.op('Add', [z, g.f32(`${layer.name}_B`, [fout], w(layer.name, 'bias'))]);
        y = activation(z, c.activation, layer.name);
        break;
      }
      case 'Dropout':
        y = x;
        break;
      default:
        throw new Error(`layer ${layer.name}: ${layer.class_name} not supported by the converter`);
    }
    values.set(layer.name, y);
  }
  const final = config.output_layers[0]?.[0];
  const outValue = final && values.get(final);
  const embValue = values.get(opts.embeddingLayer);
  if (!outValue || !embValue) throw new Error(`output ${final} or embedding layer ${opts.embeddingLayer} not found`);
  const embedding = g.op('Flatten', [embValue], { axis: { i: 1 } }, 'embedding');
  g.op('Identity', [outValue], undefined, opts.outputName);
  void embedding;
  const [h, wd, ch] = inputShape as [number, number, number];
  const graph = g.build(
    'converted',
    [{ name: 'pixels', type: 'uint8', shape: ['batch', h, wd, ch] }],
    [
      { name: 'embedding', type: 'float32', shape: ['batch', 'features'] },
      { name: opts.outputName, type: 'float32', shape: ['batch', 'classes'] },
    ],
  );
  return encodeModel(opts.precision === 'fp16' ? toFloat16(graph) : graph, { metadata: opts.metadata });
}
