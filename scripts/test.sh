#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR

bash scripts/setup.sh
bash scripts/build.sh
echo "==> test: ctest in ${BUILD_DIR}"
ctest --test-dir "${BUILD_DIR}" --output-on-failure -j"$(nproc)"
