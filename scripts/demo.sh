#!/usr/bin/env bash
# End-to-end demo on a fresh Debian 12 machine: install, build, show the machine facts, train a
# small ResNet on Fashion-MNIST, evaluate it and inspect the model file. Outputs go to out/demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
HADMC="${BUILD_DIR}/cloud/hadmc"
OUT=out/demo

# Prints a command, then runs it.
run() {
  echo
  echo "==> demo: $*"
  "$@"
}

bash scripts/setup.sh
bash scripts/build.sh
mkdir -p "${OUT}"

run "${HADMC}" sysinfo
# 5 epochs, batch 256, peak lr 0.2: 90.22% test accuracy in 2 min 40 s of training on a quiet
# 2-core machine (docs/benchmarks.md).
run "${HADMC}" train --arch resnet8 --data fashion-mnist --epochs 5 --batch-size 256 --lr 0.2 \
  --warmup-epochs 0.3 --out "${OUT}/base.hmc"
run "${HADMC}" eval "${OUT}/base.hmc" --data fashion-mnist
run "${HADMC}" info "${OUT}/base.hmc"
# The HAD-MC pipeline: prune 30% of channels (Taylor), one epoch of distillation from the
# original, fuse, int8 on real kernels; prints the measured before/after report.
run "${HADMC}" compress "${OUT}/base.hmc" --out "${OUT}/small.hmc" --prune 0.3 \
  --distill-epochs 1 --bits 8
echo
echo "==> demo: done; models in ${OUT}/base.hmc and ${OUT}/small.hmc"
