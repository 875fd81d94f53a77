#!/usr/bin/env bash
# Renders the PNG sizes of the application icon from its SVG. The PNGs are committed so that building needs no SVG
# renderer; tests/packaging_files.sh re-renders them and fails when they no longer match the SVG.
# Usage: packaging/render-icons.sh [OUTPUT_HICOLOR_DIR]   (default: resources/icons/hicolor)
set -euo pipefail
cd "$(dirname "$0")/.."
id=io.github.ckptlens.CheckpointLens
out=${1:-resources/icons/hicolor}
svg=resources/icons/hicolor/scalable/apps/$id.svg
command -v rsvg-convert >/dev/null || { echo "rsvg-convert not found (Debian package librsvg2-bin)" >&2; exit 1; }
for size in 16 22 24 32 48 64 128 256; do
    mkdir -p "$out/${size}x${size}/apps"
    rsvg-convert --width "$size" --height "$size" "$svg" --output "$out/${size}x${size}/apps/$id.png"
done
