#!/usr/bin/env bash
# On the GPU host (docs/gpu.md), in the repo root. Without arguments: moves the bundle parts
# carried in this call into $PARTS (they outlive the call while the machine stays warm). With
# --run: also reassembles the bundle, unpacks it with the extras and runs bench/onnx-device once per
# detector size in MAX_SIDES (default 960).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/ort-bundle.sh
move_parts
[ "${1:-}" = --run ] || exit 0

unpack_bundle
tar xJf .gpu-carry/onnx-bench/extras.tar.xz -C "$opt/node_modules"
cp .gpu-carry/onnx-bench/bench.mjs "$opt/"
export ONNX_BENCH_IMAGES=${ONNX_BENCH_IMAGES:-.gpu-carry/onnx-bench/images} ONNX_BENCH_ROUNDS=${ONNX_BENCH_ROUNDS:-2}
for side in ${MAX_SIDES:-960}; do
  echo "--- det max side $side"
  ONNX_BENCH_MAX_SIDE=$side node "$opt/bench.mjs"
done
