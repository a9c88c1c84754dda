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
source scripts/gpu/ort-bundle.sh
move_parts
[ "${1:-}" = --run ] || exit 0

unpack_bundle
tar xJf .gpu-carry/embed-bench/extras.tar.xz -C "$opt/node_modules"
cp .gpu-carry/embed-bench/bench.mjs .gpu-carry/embed-bench/worker.mjs "$opt/"
export EMBED_BENCH_CORPUS=$PWD/.gpu-carry/embed-bench/images EMBED_BENCH_WORKER=$opt/worker.mjs
export EMBED_BENCH_IMAGES=${EMBED_BENCH_IMAGES:-960} EMBED_BENCH_BATCH=${EMBED_BENCH_BATCH:-128}
STRATUM_ONNX_DEVICE=${DEVICE:-cuda} node "$opt/bench.mjs"
