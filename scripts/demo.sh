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
run "${HADMC}" train --arch resnet8 --data fashion-mnist --epochs 4 --out "${OUT}/base.hmc"
run "${HADMC}" eval "${OUT}/base.hmc" --data fashion-mnist
run "${HADMC}" info "${OUT}/base.hmc"
echo
echo "==> demo: done; model in ${OUT}/base.hmc"
