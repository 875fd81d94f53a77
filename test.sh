#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite through ctest (no GPU, no display needed).
set -euo pipefail
cd "$(dirname "$0")"
source .ci/ensure-deps.sh
# python3-torch writes the fixtures; clang + libclang-rt build the libFuzzer targets. The rest is for the packaging
# tests: the desktop tools validate the packaging files (desktop-file-utils, appstream, libxml2-utils, librsvg2-bin
# re-renders the icons), xdg-utils + libfile-mimeinfo-perl (xdg-mime's shared-mime-info lookup) + xvfb/xauth +
# xdotool/x11-utils open a checkpoint the way a desktop does, dpkg-dev + file let cpack compute the .deb's Depends.
ckptlens_ensure_deps python3-torch python3-numpy clang libclang-rt-14-dev desktop-file-utils appstream libxml2-utils \
    librsvg2-bin shared-mime-info xdg-utils libfile-mimeinfo-perl xvfb xauth xdotool x11-utils dpkg-dev file
ckptlens_build build Release -DCKPTLENS_BUILD_FUZZ=ON "$@"
export QT_QPA_PLATFORM=offscreen
cd build
ctest --output-on-failure --no-tests=error --timeout 1200
