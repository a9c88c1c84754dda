import type { Graph, Tensor } from '../shared/onnx/onnx-writer.js';

/** IEEE half-precision bits of a number, rounded to nearest even (Node 20 has no Math.f16round). */
export function toHalfBits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf, nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000; // subnormal: shift the implicit bit in
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** The value of half-precision bits. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * The fp16 variant of a float32 graph, as ONNX fp16 exports are made (onnxconverter-common's
 * `convert_float_to_float16` with `keep_io_types`): every float32 initializer is stored as float16,
 * casts to float32 inside the graph cast to float16 instead, so every op computes in float16, and
 * each float32 graph output gets a final cast back to float32 (inputs and outputs keep their types).
 */
export function toFloat16(graph: Graph): Graph {
  const initializers: Tensor[] = graph.initializers.map((t) => {
    if (t.type !== 'float32') return t;
    const src = t.data as Float32Array;
    const half = new Uint16Array(src.length);
    for (let i = 0; i < src.length; i++) half[i] = toHalfBits(src[i] as number);
    return { ...t, type: 'float16', data: half };
  });
  const outputs = new Set(graph.outputs.filter((o) => o.type === 'float32').map((o) => o.name));
  const nodes = graph.nodes.map((n) => ({
    ...n,
    attrs: n.op === 'Cast' && n.attrs?.to && 'i' in n.attrs.to && n.attrs.to.i === 1 ? { ...n.attrs, to: { i: 10 } } : n.attrs,
    outputs: n.outputs.map((o) => (outputs.has(o) ? `${o}__fp16` : o)),
    inputs: n.inputs.map((i) => (outputs.has(i) ? `${i}__fp16` : i)),
  }));
  for (const o of outputs) nodes.push({ op: 'Cast', inputs: [`${o}__fp16`], outputs: [o], attrs: { to: { i: 1 } } });
  return { ...graph, nodes, initializers };
}
