# Sourced by the run-*-bench.sh scripts on the GPU host (docs/gpu.md), in the repo root.
# move_parts: moves the bundle parts carried in this call into $PARTS (they outlive the call while the
# machine stays warm). unpack_bundle: reassembles node + onnxruntime-node + the CUDA 13 EP into $OPT,
# puts it on PATH/NODE_PATH, finds the CUDA libraries (adding Python wheels' nvidia/*/lib folders when
# ldd still misses one) and prints what the provider resolves, the GPU and the node version.
parts=${PARTS:-/root/ort-parts}
opt=${OPT:-/opt/ort-cuda}

move_parts() {
  mkdir -p "$parts"
  for f in .gpu-carry/bundle/p*/bundle.part-*; do [ -e "$f" ] && mv "$f" "$parts/"; done
  ls -l "$parts"
}

unpack_bundle() {
  rm -rf "$opt" && mkdir -p "$opt"
  cat "$parts"/bundle.part-* | tar xJ -C "$opt"
  export PATH=$opt:$PATH NODE_PATH=$opt/node_modules
  export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  local ep=$opt/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
  if ldd "$ep" | grep -q 'not found'; then
    # cuDNN / cuBLAS may only be installed as Python wheels (nvidia-*-cu13)
    for d in $(find / -path /proc -prune -o -type d -path '*site-packages/nvidia/*/lib' -print 2>/dev/null); do LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d; done
  fi
  ldd "$ep" | grep -E 'cuda|cudnn|cublas|cufft|curand|not found' || true
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  echo "node $(node --version), $(nproc) cores"
}
