#!/usr/bin/env bash
# The GPU check of the torch runtime: on a machine with an NVIDIA GPU and PyTorch (CUDA build),
# from a checkout with node_modules installed. Installs and downloads nothing. Builds real-size
# random-weight StyleGAN2 fixtures (512 and 1024 px, CLIP ViT-B/32 encoders added), serves each
# with `--runtime torch --device cuda`, and prints frames delivered per second to 1 and 20 viewers,
# command -> frame p50/p95, search candidates per second while serving, the models bench in
# PyTorch and the frame transport; the table goes in the README (see server/runtime/README.md).
#
#   test/gpu/run.sh                      # cuda, 512 and 1024 px
#   test/gpu/run.sh --fp16 --cuda-graphs # the same with the torch runtime's options
#   test/gpu/run.sh --cpu                # prove it without a GPU: device cpu, 32 px fixture, short runs
#   test/gpu/run.sh --device mps         # Apple GPU
# Other flags: --sizes 256,512  --seconds N  --work DIR (fixtures are kept there and reused).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d node_modules ]; then
  echo "test/gpu/run.sh: node_modules is missing: run npm ci in this checkout first (this script installs nothing)" >&2
  exit 1
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
fi
exec node --import tsx test/gpu/check.ts "$@"
