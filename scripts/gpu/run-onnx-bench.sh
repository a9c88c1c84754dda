#!/usr/bin/env bash
# On the GPU host (docs/gpu.md), in the repo root. Without arguments: moves the bundle parts
# carried in this call into $PARTS (they outlive the call while the machine stays warm). With
# --run: also reassembles the bundle, unpacks it with the extras and runs bench/onnx-device once per
# detector size in MAX_SIDES (default 960).
set -euo pipefail
cd "$(dirname "$0")/../.."
parts=${PARTS:-/root/ort-parts}
opt=${OPT:-/opt/ort-cuda}
mkdir -p "$parts"
for f in .gpu-carry/bundle/p*/bundle.part-*; do [ -e "$f" ] && mv "$f" "$parts/"; done
ls -l "$parts"
[ "${1:-}" = --run ] || exit 0

rm -rf "$opt" && mkdir -p "$opt"
cat "$parts"/bundle.part-* | tar xJ -C "$opt"
tar xJf .gpu-carry/onnx-bench/extras.tar.xz -C "$opt/node_modules"
cp .gpu-carry/onnx-bench/bench.mjs "$opt/"
export PATH=$opt:$PATH NODE_PATH=$opt/node_modules
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ep=$opt/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
if ldd "$ep" | grep -q 'not found'; then
  # cuDNN / cuBLAS may only be installed as Python wheels (nvidia-*-cu13)
  for d in $(find / -path /proc -prune -o -type d -path '*site-packages/nvidia/*/lib' -print 2>/dev/null); do LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d; done
fi
ldd "$ep" | grep -E 'cuda|cudnn|cublas|cufft|curand|not found' || true
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "node $(node --version), $(nproc) cores"
export ONNX_BENCH_IMAGES=${ONNX_BENCH_IMAGES:-.gpu-carry/onnx-bench/images} ONNX_BENCH_ROUNDS=${ONNX_BENCH_ROUNDS:-2}
for side in ${MAX_SIDES:-960}; do
  echo "--- det max side $side"
  ONNX_BENCH_MAX_SIDE=$side node "$opt/bench.mjs"
done
