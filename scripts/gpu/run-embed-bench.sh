#!/usr/bin/env bash
# On the GPU host (docs/gpu.md, "Image embeddings"), in the repo root. Without arguments: moves the
# bundle parts carried in this call into $PARTS (they outlive the call while the machine stays warm).
# With --run: also reassembles the node/ORT/CUDA bundle, unpacks the embed bench's extras next to it
# and runs bench/embed.ts (bundled) with the CUDA provider: STRATUM_ONNX_DEVICE=cuda, so a CUDA
# session that cannot start is an error, not a silent CPU run.
# env: EMBED_BENCH_IMAGES (default 960), EMBED_BENCH_BATCH (default 128), DEVICE (default cuda; cpu
# runs the same bench on the host's CPUs for the comparison).
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
tar xJf .gpu-carry/embed-bench/extras.tar.xz -C "$opt/node_modules"
cp .gpu-carry/embed-bench/bench.mjs .gpu-carry/embed-bench/worker.mjs "$opt/"
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
export EMBED_BENCH_CORPUS=$PWD/.gpu-carry/embed-bench/images EMBED_BENCH_WORKER=$opt/worker.mjs
export EMBED_BENCH_IMAGES=${EMBED_BENCH_IMAGES:-960} EMBED_BENCH_BATCH=${EMBED_BENCH_BATCH:-128}
STRATUM_ONNX_DEVICE=${DEVICE:-cuda} node "$opt/bench.mjs"
