#!/usr/bin/env bash
# Configures (Ninja, RelWithDebInfo) and builds HAD-MC with all cores.
#   BUILD_DIR   build directory (default: build)
#   BUILD_TYPE  CMake build type (default: RelWithDebInfo)
# Extra arguments go to the CMake configure step, e.g. -DHADMC_BUILD_BENCH=OFF.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=$(nproc)

echo "==> build: configuring ${BUILD_DIR} (${BUILD_TYPE}, Ninja)"
cmake -S . -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE}" "$@"
echo "==> build: building with ${JOBS} jobs"
cmake --build "${BUILD_DIR}" --parallel "${JOBS}"
echo "==> build: done (${BUILD_DIR})"
