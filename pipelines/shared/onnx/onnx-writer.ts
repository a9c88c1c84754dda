/**
 * A small ONNX model writer: the protobuf wire format of the ONNX messages a plain inference graph
 * needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto), written
 * directly. Used to convert the bundled tfjs image model and to build test models; onnxruntime is
 * the judge of whether the bytes are right.
 */

export type ElemType = 'float32' | 'uint8' | 'int8' | 'int32' | 'int64' | 'float16' | 'bool';

const ELEM: Record<ElemType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 };

export interface Tensor {
  name: string;
  type: ElemType;
  dims: number[];
  /** Raw little-endian bytes of the values (Float32Array, BigInt64Array, Uint8Array, ... are accepted). */
  data: ArrayBufferView;
}

export type Attr =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: number[] }
  | { floats: number[] }
  | { t: Tensor };

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, Attr>;
}

export interface ValueInfo {
  name: string;
  type: ElemType;
  /** A number or a symbolic dimension name (e.g. 'batch'). */
  shape: Array<number | string>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface ModelOptions {
  opset?: number;
  producer?: string;
  /** Stored as metadata_props (ORT exposes them as custom metadata). */
  metadata?: Record<string, string>;
}

class Pb {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  private rawVarint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v) byte |= 0x80;
      out.push(byte);
    } while (v);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(BigInt((field << 3) | wire));
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.rawVarint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.rawVarint(BigInt(data.length));
    this.push(data);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function tensorProto(t: Tensor): Pb {
  const m = new Pb();
  for (const d of t.dims) m.int(1, d);
  m.int(2, ELEM[t.type]);
  m.string(8, t.name);
  m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return m;
}

// AttributeProto.type: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7
function attributeProto(name: string, a: Attr): Pb {
  const m = new Pb().string(1, name);
  if ('i' in a) return m.int(3, a.i).int(20, 2);
  if ('f' in a) return m.float(2, a.f).int(20, 1);
  if ('s' in a) return m.string(4, a.s).int(20, 3);
  if ('t' in a) return m.message(5, tensorProto(a.t)).int(20, 4);
  if ('floats' in a) {
    for (const f of a.floats) m.float(7, f);
    return m.int(20, 6);
  }
  for (const i of a.ints) m.int(8, i);
  return m.int(20, 7);
}

function valueInfoProto(v: ValueInfo): Pb {
  const shape = new Pb();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().string(2, d));
  const tensorType = new Pb().int(1, ELEM[v.type]).message(2, shape);
  return new Pb().string(1, v.name).message(2, new Pb().message(1, tensorType));
}

/** Serialises a graph as an ONNX model (IR version 8, default-domain opset 17 unless told). */
export function encodeModel(graph: Graph, opts: ModelOptions = {}): Uint8Array {
  const g = new Pb();
  for (const [index, n] of graph.nodes.entries()) {
    const node = new Pb();
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    node.string(3, n.name ?? `${n.op}_${index}`);
    node.string(4, n.op);
    for (const [name, a] of Object.entries(n.attrs ?? {})) node.message(5, attributeProto(name, a));
    g.message(1, node);
  }
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  for (const v of graph.inputs) g.message(11, valueInfoProto(v));
  for (const v of graph.outputs) g.message(12, valueInfoProto(v));
  const model = new Pb().int(1, 8).string(2, opts.producer ?? 'stratum').message(7, g).message(8, new Pb().string(1, '').int(2, opts.opset ?? 17));
  for (const [key, value] of Object.entries(opts.metadata ?? {})) model.message(14, new Pb().string(1, key).string(2, value));
  return model.finish();
}

/** Builds a graph node by node, naming intermediate values and collecting initializers. */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Adds a constant and returns its name. */
  constant(prefix: string, type: ElemType, dims: number[], data: ArrayBufferView): string {
    const name = this.fresh(prefix);
    this.initializers.push({ name, type, dims, data });
    return name;
  }

  f32(prefix: string, dims: number[], values: ArrayLike<number>): string {
    return this.constant(prefix, 'float32', dims, Float32Array.from(values));
  }

  i64(prefix: string, values: number[]): string {
    return this.constant(prefix, 'int64', [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  /** Adds a node with one output and returns the output's name (`output` names it, else a fresh name). */
  op(op: string, inputs: string[], attrs?: Record<string, Attr>, output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attrs });
    return out;
  }

  build(name: string, inputs: ValueInfo[], outputs: ValueInfo[]): Graph {
    return { name, nodes: this.nodes, initializers: this.initializers, inputs, outputs };
  }
}
