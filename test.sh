#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite through ctest (no GPU, no display needed).
set -euo pipefail
cd "$(dirname "$0")"
source .ci/ensure-deps.sh
# python3-torch writes the fixtures; clang + libclang-rt build the libFuzzer targets; the desktop tools
# validate the packaging files.
ckptlens_ensure_deps python3-torch python3-numpy clang libclang-rt-14-dev
ckptlens_build build Release -DCKPTLENS_BUILD_FUZZ=ON "$@"
export QT_QPA_PLATFORM=offscreen
cd build
ctest --output-on-failure --no-tests=error --timeout 1200
