#!/usr/bin/env bash
# Installs what is missing, builds Release and opens the GUI on the bundled sample checkpoint.
# Without a display it prints the CLI summary of the sample instead.
set -euo pipefail
cd "$(dirname "$0")"
source .ci/ensure-deps.sh
ckptlens_ensure_deps
ckptlens_build build Release
sample=resources/samples/tiny-transformer.pth
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    exec build/app/ckptlens "$sample" "$@"
fi
echo "No display (DISPLAY is not set): printing the CLI summary of $sample instead of opening the window."
echo
build/app/ckptlens-cli info "$sample"
