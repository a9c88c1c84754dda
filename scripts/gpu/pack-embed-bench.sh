#!/usr/bin/env bash
# Prepares `pnpm bench embed` (bench/embed.ts) for a GPU host that has CUDA 13 and cuDNN 9 but no
# Node.js and no network (docs/gpu.md, "Image embeddings"): in .gpu-carry/ (git-ignored),
#   bundle/p1..pN/bundle.part-*   node + onnxruntime-node 1.29.0 + CUDA 13 EP (../shared/gpu/bundle-ort-cuda.sh;
#                                 shared with pack-onnx-bench.sh, built once)
#   embed-bench/extras.tar.xz     sharp (+ its libvips) and nsfwjs's MobileNetV2 files, as a flat node_modules
#   embed-bench/images/           the natural_images photos the bench reads (> 20 KB)
#   embed-bench/bench.mjs         bench/embed.ts bundled by esbuild (onnxruntime-node and sharp left external)
#   embed-bench/worker.mjs        the filter's image worker (decode + hash + model pixels), bundled the same way
# usage: scripts/gpu/pack-embed-bench.sh [PART_MB]   (default 60: one part per device call stays under 64 MiB)
#        NO_BUNDLE=1 scripts/gpu/pack-embed-bench.sh  builds everything but the node/ORT bundle
set -euo pipefail
cd "$(dirname "$0")/../.."
part_mb=${1:-60}
carry=.gpu-carry
out=$carry/embed-bench
rm -rf "$out" && mkdir -p "$out/images" "$out/nm/@img" "$out/nm/nsfwjs/dist/cjs" "$out/nm/nsfwjs/dist/models"

[ -n "${NO_BUNDLE:-}" ] || [ -d "$carry/bundle" ] || bash ../shared/gpu/bundle-ort-cuda.sh "$PWD/$carry/bundle" "$part_mb"

# a flat node_modules: pnpm's symlinked layout resolved into real folders
sharp_dir=$(dirname "$(readlink -f node_modules/sharp)")
for p in sharp detect-libc semver @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64; do cp -rL "$sharp_dir/$p" "$out/nm/$p"; done
# the built-in model is converted from nsfwjs's files at first use (pipelines/embed/builtin-model.ts)
nsfw=$(readlink -f node_modules/nsfwjs)
cp "$nsfw/package.json" "$nsfw/LICENSE" "$out/nm/nsfwjs/"
cp "$nsfw/dist/cjs/index.js" "$nsfw/dist/cjs/package.json" "$out/nm/nsfwjs/dist/cjs/"
cp -r "$nsfw/dist/models/mobilenet_v2" "$nsfw/dist/models/package.json" "$out/nm/nsfwjs/dist/models/"
tar cf - -C "$out/nm" . | xz -T0 -6 > "$out/extras.tar.xz"
rm -rf "$out/nm"

find ../shared/corpora/natural_images -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) -size +20k |
  while read -r f; do cp "$f" "$out/images/$(echo "${f#../shared/corpora/natural_images/}" | tr '/' '_')"; done

esbuild=$(ls -d node_modules/.pnpm/esbuild@*/node_modules/esbuild/bin/esbuild | head -1)
bundle() {
  "$esbuild" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --external:onnxruntime-node --external:sharp --sourcefile="$1" \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
    --outfile="$2"
}
echo "import { benchEmbed } from './bench/embed.ts'; await benchEmbed();" | bundle embed-entry.ts "$out/bench.mjs"
echo "import './pipelines/filter/image-worker.ts';" | bundle worker-entry.ts "$out/worker.mjs"
du -sh "$carry"/bundle/p* "$out"/* 2>/dev/null || true
